#!/usr/bin/python3
"""`pixelmill model quantize` end to end (run by CTest; one check per invocation).

  sscd     the default model (real weights, float16 behind Casts) calibrated on Debian's
           package photos with the default target: the card says what the file is (hash,
           the fp32 model's hash, method, kept layers, cosines that meet the target); the
           file is a valid QDQ model in which exactly the layers not kept are quantized
           (int8 per-channel weights, Q/DQ on their input); ONNX Runtime runs it and agrees
           with `pixelmill model run --precision int8`, and stays close to fp32.
  methods  the generated tiny model with minmax, percentile and entropy and
           --target-cosine 0 (every layer int8); on one repeated solid-colour image the
           minmax scale of the input activation is the one the colour gives, exactly.
  errors   wrong uses are refused with a message, and no file is written.
"""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import onnx
from onnx import numpy_helper

BIN = os.environ["PM_BIN"]
WORK = os.environ["PM_WORK"]
ROOT = os.environ["PM_ROOT"]
ENV = dict(os.environ, OMP_NUM_THREADS="2")
sys.path.insert(0, os.path.join(ROOT, "perf", "engine"))
import pm_peers  # noqa: E402

PHOTOS = sorted(glob.glob("/usr/share/darknet/data/*.jpg") +
                glob.glob("/usr/share/doc/opencv-doc/examples/data/*.jpg"))


def run(args, ok=True):
    p = subprocess.run([BIN, "model"] + args, env=ENV, capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"FAIL: pixelmill model {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def cosines(a, b):
    a = a.astype(np.float64).reshape(len(a), -1)
    b = b.astype(np.float64).reshape(len(b), -1)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def photo_list(d, paths, name="photos.txt"):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("".join(p + "\n" for p in paths))
    return path


def quantized_layers(model):
    """Names of the Conv/Gemm/MatMul nodes whose weight comes through DequantizeLinear of
    an int8 initializer and whose activation through QuantizeLinear -> DequantizeLinear."""
    g = model.graph
    made = {o: n for n in g.node for o in n.output}
    inits = {t.name: t for t in g.initializer}
    out = set()
    for n in g.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        dw, dx = made.get(n.input[1]), made.get(n.input[0])
        if dw is None or dw.op_type != "DequantizeLinear":
            continue
        w = inits[dw.input[0]]
        assert w.data_type == onnx.TensorProto.INT8, n.name
        axis = next((a.i for a in dw.attribute if a.name == "axis"), 1)
        assert len(numpy_helper.to_array(inits[dw.input[1]]).ravel()) == w.dims[axis], n.name  # per channel
        assert dx is not None and dx.op_type == "DequantizeLinear", n.name
        assert made[dx.input[0]].op_type == "QuantizeLinear", n.name
        out.add(n.name)
    return out


def sscd():
    d = fresh("sscd")
    card_in = os.path.join(ROOT, "models", "sscd_distilled.json")
    fp32_card = json.load(open(card_in))
    out = os.path.join(d, "sscd.int8.onnx")
    run(["quantize", "--model", card_in, "--calibration", "list:" + photo_list(d, PHOTOS),
         "--images", "16", "--check-images", "16", "--output", out, "--threads", "2"])
    card = json.load(open(os.path.join(d, "sscd.int8.json")))
    q = card["quantization"]
    check(card["file"] == "sscd.int8.onnx" and card["sha256"] == sha256(out), "the card names the file and its hash")
    check(q["from"] == {"file": fp32_card["file"], "sha256": fp32_card["sha256"]}, "the card names the fp32 model")
    check(q["method"] == "minmax" and q["equalized"] == 0 and q["images"] == 16 and len(q["calibration_sha256"]) == 64,
          "method, calibration images and their hash recorded")
    check(q["cosine"]["images"] == 48 and q["cosine"]["median"] >= 0.993 and q["cosine"]["p01"] >= 0.993,
          f"the recorded check meets the default target 0.993 ({q['cosine']})")
    check("source" not in card and card["input"] == fp32_card["input"] and card["embedding"] == fp32_card["embedding"],
          "preprocessing and embedding kept, the fp32 file's source dropped")
    model = onnx.load(out)
    onnx.checker.check_model(model)
    convs = {n.name for n in model.graph.node if n.op_type in ("Conv", "Gemm")}
    quantized = quantized_layers(model)
    kept = set(q["kept_fp32"])
    check(quantized and kept <= convs and quantized == convs - kept,
          f"exactly the layers not kept are quantized ({len(quantized)} int8, {len(kept)} fp32)")
    # Four photos as the card's input: uint8 NHWC 288x288, RGB, squashed (area).
    size = (card["input"]["width"], card["input"]["height"])
    x = np.stack([cv2.resize(cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB), size, interpolation=cv2.INTER_AREA)
                  for p in PHOTOS[-4:]]).astype(np.uint8)
    np.save(os.path.join(d, "x.npy"), x)
    run(["run", "--model", out, "--input", os.path.join(d, "x.npy"), "--output", os.path.join(d, "int8.npy"),
         "--precision", "int8"])
    mine = np.load(os.path.join(d, "int8.npy"))
    ort_q = pm_peers.ort_session(out, 2).run(None, {"image": x})[0]
    ort_f = pm_peers.ort_session(os.path.join(ROOT, "models", fp32_card["file"]), 2).run(None, {"image": x})[0]
    c_ort = cosines(mine, ort_q)
    check(c_ort.min() >= 0.995, f"ONNX Runtime on the QDQ file agrees with the engine's int8 run (min cosine {c_ort.min():.5f})")
    c_fp = cosines(ort_q, ort_f)
    check(c_fp.min() >= 0.98, f"the QDQ model stays close to fp32 on other photos (min cosine {c_fp.min():.5f})")


def tiny_model(d):
    subprocess.run([BIN, "model", "make-test", "--out", d], check=True, env=ENV, capture_output=True)
    return os.path.join(d, "tiny_embed.json")


def methods():
    d = fresh("methods")
    card = tiny_model(d)
    photos = photo_list(d, PHOTOS)
    for method in ("minmax", "percentile", "entropy"):
        out = os.path.join(d, f"tiny.{method}.onnx")
        run(["quantize", "--model", card, "--calibration", "list:" + photos, "--images", "8", "--check-images", "8",
             "--method", method, "--target-cosine", "0", "--output", out])
        c = json.load(open(out[:-5] + ".json"))["quantization"]
        m = onnx.load(out)
        onnx.checker.check_model(m)
        check(c["method"] == method and c["kept_fp32"] == [] and
              quantized_layers(m) == {"conv1", "dwconv2", "pwconv3", "conv4", "fc"},
              f"{method}: every layer int8 with --target-cosine 0")
    # One solid colour, repeated: the input activation is ((v/255) - mean) / std per channel.
    colour = (200, 40, 120)  # RGB
    img = np.zeros((80, 96, 3), np.uint8)
    img[:] = colour[::-1]
    paths = []
    for i in range(16):
        p = os.path.join(d, f"solid{i:02d}.png")
        cv2.imwrite(p, img)
        paths.append(p)
    out = os.path.join(d, "tiny.solid.onnx")
    run(["quantize", "--model", card, "--calibration", "list:" + photo_list(d, paths), "--images", "8",
         "--check-images", "8", "--method", "minmax", "--target-cosine", "0", "--output", out])
    tc = json.load(open(card))
    v = (np.array(colour, np.float32) * np.float32(tc["scale"]) - np.array(tc["mean"], np.float32)) / \
        np.array(tc["std"], np.float32)
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    m = onnx.load(out)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
    scale, zero = float(inits[q.input[1]]), int(inits[q.input[2]])
    check(abs(scale - (hi - lo) / 255) <= 1e-6 * max(1.0, hi - lo) and zero == int(np.clip(round(-lo / ((hi - lo) / 255)), 0, 255)),
          f"minmax range of the input from a solid colour: scale {scale:.6g} (expected {(hi - lo) / 255:.6g}), zero {zero}")


def errors():
    d = fresh("errors")
    card = tiny_model(d)
    photos = photo_list(d, PHOTOS)
    out = os.path.join(d, "x.int8.onnx")
    base = ["quantize", "--model", card, "--calibration", "list:" + photos, "--images", "8", "--check-images", "8"]
    cases = [
        (base + ["--output", out, "--method", "kl"], "--method must be minmax, percentile or entropy"),
        (base + ["--output", os.path.join(d, "x.int8.bin")], "--output must name an .onnx file"),
        (base + ["--output", os.path.join(d, "tiny_embed.onnx")], "is the fp32 model itself"),
        (base + ["--output", out, "--keep-fp32", "conv1,nosuch"], "no quantizable node 'nosuch'"),
        (base + ["--output", out, "--target-cosine", "1.5"], "--target-cosine must be in [0, 1]"),
        (base[:-2] + ["--check-images", "2", "--output", out], "--check-images must be in 4..100000"),
        (["quantize", "--model", card, "--calibration", "list:" + photo_list(d, PHOTOS[:5], "five.txt"), "--images", "8",
          "--check-images", "8", "--output", out], "16 needed"),
        (["quantize", "--model", card, "--calibration", "hbase://localhost:9090/t", "--output", out],
         "--calibration must be dir:PATH or list:FILE"),
        (["quantize", "--model", os.path.join(ROOT, "models", "centerface.json"), "--calibration", "list:" + photos,
          "--output", out], "is a detector's"),
        (base + ["--output", out, "--keep-fp32", "conv1,dwconv2,pwconv3,conv4,fc"], "leaves no layer to quantize"),
    ]
    for args, message in cases:
        p = run(args, ok=False)
        check(p.returncode != 0 and message in p.stderr and not os.path.exists(out),
              f"refused: {message!r} (exit {p.returncode}; stderr: {p.stderr.strip()[-200:]})")
    # A QDQ model is not quantized twice.
    good = os.path.join(d, "good.int8.onnx")
    run(base + ["--output", good, "--target-cosine", "0"])
    p = run(["quantize", "--model", good[:-5] + ".json", "--calibration", "list:" + photos, "--images", "8",
             "--check-images", "8", "--output", out], ok=False)
    check(p.returncode != 0 and "already quantized" in p.stderr and not os.path.exists(out),
          "an int8 model is refused as input")


if __name__ == "__main__":
    {"sscd": sscd, "methods": methods, "errors": errors}[sys.argv[1]]()
