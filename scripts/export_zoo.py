#!/usr/bin/python3
"""Exports the torchvision model zoo that the engine is checked and measured against.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14), which
exports offline. Every network gets random weights from a fixed seed (weights=None): the
engine must match ONNX Runtime on *any* weights, and random ones need no download. The
BatchNormalization statistics are randomised too, because freshly initialised BN layers
(mean 0, var 1, scale 1, shift 0) are identities and would hide a wrong BN fold.

For each model NAME the output directory gets:
  NAME.onnx        opset 17 by default, input "input" NCHW float32, batch axis dynamic
  NAME.input.npy   a float32 input of batch 2 (seeded), roughly the range of a
                   mean/std-normalised photo
  NAME.json        family, input shape, output names, opset, torch/torchvision versions
Files are written under a temporary name and renamed, so concurrent callers (CTest -j)
and interrupted runs never leave a half-written model; existing models are skipped.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision import models

SEED = 20261126


class SsdBackboneHead(nn.Module):
    """SSDlite320-MobileNetV3-Large without its transform and postprocess: the part a
    detector run on CPUs spends its time in. Outputs the raw box regressions
    [B, anchors, 4] and class logits [B, anchors, 91]; anchor decoding and NMS are
    the application's job, not the network's."""

    def __init__(self):
        super().__init__()
        m = models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
        self.backbone = m.backbone
        self.head = m.head

    def forward(self, x):
        features = list(self.backbone(x).values())
        out = self.head(features)
        return out["bbox_regression"], out["cls_logits"]


class YoloTiny(nn.Module):
    """A small YOLO-style detector defined here: strided conv trunk with BN + LeakyReLU,
    a top-down path with nearest upsampling and concatenation, and a head per scale that
    reshapes [B, A*(5+C), H, W] to [B, H*W*A, 5+C] and applies a sigmoid. It covers the
    ops a YOLO export uses (Resize, Concat, LeakyRelu, Sigmoid, Reshape, Transpose)
    that the torchvision classifiers do not."""

    def __init__(self, classes=20, anchors=3):
        super().__init__()
        self.no = 5 + classes
        self.na = anchors

        def cbl(cin, cout, k=3, s=1):
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False),
                                 nn.BatchNorm2d(cout), nn.LeakyReLU(0.1))

        self.stem = nn.Sequential(cbl(3, 16, s=2), cbl(16, 32, s=2), cbl(32, 64, s=2))
        self.c4 = nn.Sequential(cbl(64, 128, s=2), cbl(128, 64, k=1), cbl(64, 128))
        self.c5 = nn.Sequential(cbl(128, 256, s=2), cbl(256, 128, k=1), cbl(128, 256))
        self.lat5 = cbl(256, 128, k=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.merge4 = cbl(128 + 128, 128)
        self.head5 = nn.Conv2d(256, self.na * self.no, 1)
        self.head4 = nn.Conv2d(128, self.na * self.no, 1)

    def _decode(self, p):
        b, _, h, w = p.shape
        p = p.view(b, self.na, self.no, h, w).permute(0, 3, 4, 1, 2)
        return torch.sigmoid(p.reshape(b, h * w * self.na, self.no))

    def forward(self, x):
        p4 = self.c4(self.stem(x))
        p5 = self.c5(p4)
        m4 = self.merge4(torch.cat([self.up(self.lat5(p5)), p4], dim=1))
        return torch.cat([self._decode(self.head5(p5)), self._decode(self.head4(m4))], dim=1)


def _tv(name, **kw):
    return lambda: getattr(models, name)(weights=None, **kw)


# name -> (family, constructor, input side). One entry per family of issue 3 (ResNet has two).
ZOO = {
    "resnet18": ("resnet", _tv("resnet18"), 224),
    "resnet50": ("resnet", _tv("resnet50"), 224),
    "mobilenet_v2": ("mobilenet_v2", _tv("mobilenet_v2"), 224),
    "mobilenet_v3_small": ("mobilenet_v3", _tv("mobilenet_v3_small"), 224),
    "mobilenet_v3_large": ("mobilenet_v3", _tv("mobilenet_v3_large"), 224),
    "efficientnet_b0": ("efficientnet", _tv("efficientnet_b0"), 224),
    "densenet121": ("densenet", _tv("densenet121"), 224),
    "squeezenet1_1": ("squeezenet", _tv("squeezenet1_1"), 224),
    "shufflenet_v2_x1_0": ("shufflenet_v2", _tv("shufflenet_v2_x1_0"), 224),
    "regnet_y_400mf": ("regnet", _tv("regnet_y_400mf"), 224),
    "googlenet": ("googlenet", _tv("googlenet", aux_logits=False, init_weights=True), 224),
    "convnext_tiny": ("convnext", _tv("convnext_tiny"), 224),
    "ssdlite320_mobilenet_v3_large": ("ssd", SsdBackboneHead, 320),
    "yolo_tiny": ("yolo", YoloTiny, 320),
}


def randomise_norm_stats(model, gen):
    """Gives every BatchNorm non-trivial statistics and affine parameters, and every
    LayerNorm a non-trivial affine, so that folding them wrongly changes the output."""
    for mod in model.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            c = mod.num_features
            mod.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
            mod.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            if mod.affine:
                mod.weight.data.copy_(0.5 + torch.rand(c, generator=gen))
                mod.bias.data.copy_(0.1 * torch.randn(c, generator=gen))
        elif isinstance(mod, nn.LayerNorm) and mod.elementwise_affine:
            shape = mod.weight.shape
            mod.weight.data.copy_(0.5 + torch.rand(shape, generator=gen))
            mod.bias.data.copy_(0.1 * torch.randn(shape, generator=gen))


def export_one(name, outdir, opset, batch):
    family, ctor, side = ZOO[name]
    onnx_path = os.path.join(outdir, name + ".onnx")
    if os.path.exists(onnx_path) and os.path.exists(os.path.join(outdir, name + ".input.npy")):
        print(f"export_zoo: {name} present, kept")
        return
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = ctor()
    with torch.no_grad():
        randomise_norm_stats(model, gen)
    model.eval()

    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, 3, side, side), dtype=np.float32)
    with torch.no_grad():
        outs = model(torch.from_numpy(x))
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    out_names = ["output"] if len(outs) == 1 else [f"output{i}" for i in range(len(outs))]
    dynamic = {n: {0: "batch"} for n in ["input"] + out_names}

    # Temporary names in the same directory, then rename: atomic for concurrent callers.
    fd, tmp_onnx = tempfile.mkstemp(prefix=f".{name}.", suffix=".onnx", dir=outdir)
    os.close(fd)
    fd, tmp_npy = tempfile.mkstemp(prefix=f".{name}.", suffix=".npy", dir=outdir)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, torch.from_numpy(x), tmp_onnx, opset_version=opset,
                              input_names=["input"], output_names=out_names,
                              dynamic_axes=dynamic, do_constant_folding=True)
        np.save(tmp_npy, x)
        meta = {
            "name": name, "family": family, "opset": opset,
            "input": {"name": "input", "shape": ["batch", 3, side, side], "dtype": "float32"},
            "outputs": [{"name": n, "shape": ["batch"] + list(o.shape[1:])}
                        for n, o in zip(out_names, outs)],
            "seed": SEED, "torch": torch.__version__, "torchvision": torchvision.__version__,
        }
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(meta, f, indent=1)
        for p in (tmp_onnx, tmp_npy):
            os.chmod(p, 0o644)  # mkstemp makes them private; the zoo is shared data
        os.replace(tmp_npy, os.path.join(outdir, name + ".input.npy"))
        os.replace(tmp_onnx, onnx_path)
    finally:
        for p in (tmp_onnx, tmp_npy):
            if os.path.exists(p):
                os.remove(p)
    print(f"export_zoo: {name} ({family}) -> {onnx_path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("models", nargs="*", help="names to export (default: all); --list shows them")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--batch", type=int, default=2, help="batch of the sample input")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for n, (fam, _, side) in ZOO.items():
            print(f"{n} {fam} {side}")
        return 0
    names = a.models or list(ZOO)
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"export_zoo: unknown model(s) {unknown}; known: {list(ZOO)}", file=sys.stderr)
        return 2
    os.makedirs(a.outdir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    failed = []
    for n in names:
        try:
            export_one(n, a.outdir, a.opset, a.batch)
        except Exception as e:  # report every model, fail at the end
            print(f"export_zoo: {n} FAILED: {type(e).__name__}: {e}", file=sys.stderr)
            failed.append(n)
    if failed:
        print(f"export_zoo: failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
