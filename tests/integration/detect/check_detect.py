#!/usr/bin/python3
"""Detector conformance: `pixelmill model detect` against an independent reference (ONNX
Runtime + numpy) for one detector model card, on real images.

The reference implements the card as include/pixelmill/model_card.h and detector_spec.h
document it, not as the C++ does: OpenCV decode, cv2.resize with the card's interpolation,
squash or letterbox (top-left or centre, pad_value around), (pixel * scale - mean[c]) /
std[c] in the card's channel order, ORT, the head's decode (yolox / gfl / centernet),
class-aware greedy NMS in input pixels, back to image pixels, clipped. Two checks:
  1. Raw outputs: `pixelmill model run` on the very tensor ORT was fed; per output cosine
     >= 0.9999 and max |pixelmill - ORT| <= 1e-3 * max |ORT| (engine_zoo's criterion).
     This tells engine error apart from pre/post-processing error.
  2. Boxes: on every image, every reference box is matched one-to-one by a pixelmill box
     of its class with IoU >= 0.95 (none missing, none extra; score differences printed),
     and there is at least one box in all: a check that finds nothing proves nothing
     (lower --min-score when the card's threshold finds too few).
`model detect` decodes at full size (the reduced JPEG decode is extract's), so boxes agree
to float rounding; IoU 0.95 leaves room for that, not for a shifted grid, swapped sides or
a half-cell offset. Photos give the layout detector little to find, so --page PNG draws a
synthetic document page (title, text, figure, table, captions) and checks it as well.
A model declaring a placeholder input (CenterFace: 10x3x32x32) is run by ORT and `model
run` from a copy with symbolic dims; `model detect` gets the card and the original file.

  check_detect.py --pixelmill BIN --model CARD.json [--images F ...] [--page PNG]
                  [--threads 1] [--min-score S] [--work DIR]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import onnx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "perf", "engine"))
import pm_peers  # noqa: E402

COS_MIN, REL_ERR_MAX, IOU_MIN = 0.9999, 1e-3, 0.95
INTERP = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def preprocess(rgb, card):
    """The 1x3xHxW float32 input and the image -> input mapping (sx, sy, ox, oy)."""
    inp = card["input"]
    assert inp["dtype"] == "float32" and inp["layout"] == "NCHW", "detector cards are f32 NCHW"
    W, H, (h, w) = inp["width"], inp["height"], rgb.shape[:2]
    if card["resize"] == "squash":
        (rw, rh), (ox, oy) = (W, H), (0, 0)
    else:
        assert card["resize"] == "letterbox", f"resize {card['resize']} is not a detector's"
        s = min(W / w, H / h)  # sizes rounded half away from zero, at least 1 pixel
        rw, rh = min(max(math.floor(w * s + 0.5), 1), W), min(max(math.floor(h * s + 0.5), 1), H)
        centre = card.get("letterbox_align", "center") == "center"
        ox, oy = ((W - rw) // 2, (H - rh) // 2) if centre else (0, 0)
    img = rgb
    if (rw, rh) != (w, h):
        img = cv2.resize(rgb, (rw, rh), interpolation=INTERP[card["interpolation"]])
    canvas = np.full((H, W, 3), card.get("pad_value", 0), np.uint8)
    canvas[oy:oy + rh, ox:ox + rw] = img
    if inp["color"] == "BGR":
        canvas = canvas[:, :, ::-1]
    mean, std = np.float32(card["mean"]), np.float32(card["std"])
    x = (canvas.astype(np.float32) * np.float32(card["scale"]) - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), (rw / w, rh / h, ox, oy)


def grid(gh, gw):
    """Cell (x, y) of a gh x gw grid, row-major."""
    gx, gy = np.meshgrid(np.arange(gw), np.arange(gh))
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def decode(outs, card):
    """Every cell and class as a candidate: boxes [N,4] in input pixels, scores, classes."""
    d, H, W = card["detector"], card["input"]["height"], card["input"]["width"]
    if d["head"] == "yolox":
        p = outs[0][0]
        g = np.concatenate([grid(H // s, W // s) for s in d["strides"]])
        st = np.concatenate([np.full((H // s) * (W // s), s, np.float32) for s in d["strides"]])[:, None]
        assert len(g) == len(p), f"yolox: {len(p)} cells, the grids have {len(g)}"
        c, sz = (g + p[:, 0:2]) * st, np.exp(p[:, 2:4]) * st
        per_cell = [(np.concatenate([c - sz / 2, c + sz / 2], 1), p[:, 4:5] * p[:, 5:])]
    elif d["head"] == "gfl":
        L, nb, per_cell = len(d["strides"]), d["reg_max"] + 1, []
        for l, s in enumerate(d["strides"]):
            c = (grid(math.ceil(H / s), math.ceil(W / s)) + 0.5) * s
            assert len(c) == len(outs[l][0]), f"gfl level {l}: {len(outs[l][0])} cells, grid {len(c)}"
            z = outs[L + l][0].astype(np.float64).reshape(-1, 4, nb)  # sides l, t, r, b
            e = np.exp(z - z.max(-1, keepdims=True))
            dist = (e * np.arange(nb)).sum(-1) / e.sum(-1) * s
            per_cell.append((np.concatenate([c - dist[:, 0:2], c + dist[:, 2:4]], 1), outs[l][0]))
    elif d["head"] == "centernet":
        s, (hm, size, off) = d["strides"][0], (o[0] for o in outs[:3])
        C, h, w = hm.shape
        ctr = (grid(h, w) + off[::-1].reshape(2, -1).T + 0.5) * s  # offset is (y, x)
        half = np.exp(size[::-1].reshape(2, -1).T) * s / 2  # size is log (h, w)
        per_cell = [(np.concatenate([ctr - half, ctr + half], 1), hm.reshape(C, -1).T)]
    else:
        sys.exit(f"unknown head {d['head']}")
    boxes, scores, classes = [], [], []
    for b, sc in per_cell:  # sc: [cells, classes]
        cell, cls = np.nonzero(np.ones(sc.shape, bool))
        boxes.append(b[cell]), scores.append(sc[cell, cls]), classes.append(cls)
    return np.concatenate(boxes).astype(np.float64), np.concatenate(scores), np.concatenate(classes)


def iou_matrix(a, b):
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), -1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def postprocess(cand, mapping, w, h, min_score, nms_iou, max_det):
    """Threshold, class-aware greedy NMS in input pixels, map to the image, clip."""
    b, s, c = cand
    ok = (s >= np.float32(min_score)) & np.isfinite(s) & np.all(np.isfinite(b), 1)
    ok &= (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    b, s, c = b[ok], s[ok], c[ok]
    order = np.lexsort((b[:, 3], b[:, 2], b[:, 1], b[:, 0], c, -s.astype(np.float64)))
    keep = []
    for i in order:
        if len(keep) == max_det:
            break
        same = [k for k in keep if c[k] == c[i]]
        if not same or iou_matrix(b[i:i + 1], b[same]).max() <= nms_iou:
            keep.append(i)
    sx, sy, ox, oy = mapping
    b = np.clip((b[keep] - [ox, oy, ox, oy]) / [sx, sy, sx, sy], 0, [w, h, w, h])
    area = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    return b[area], s[keep][area], c[keep][area]


def compare_raw(ref, got):
    """(ok, cosine, max abs error / max |ORT|) of one output."""
    if ref.shape != got.shape:
        print(f"  shape {list(got.shape)} != ORT {list(ref.shape)}")
        return False, 0.0, math.inf
    r, g = ref.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    nr, ng = np.linalg.norm(r), np.linalg.norm(g)
    cos = float(r @ g / (nr * ng)) if nr > 0 and ng > 0 else float(nr == ng)
    scale, err = float(np.abs(r).max()), float(np.abs(r - g).max())
    rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
    return bool(np.all(np.isfinite(g))) and cos >= COS_MIN and rel <= REL_ERR_MAX, cos, rel


def check_boxes(ref, line, w, h):
    """Matches one image's boxes greedily by IoU (same class, one-to-one), prints the pairs
    and the unmatched boxes; True when every box on both sides is matched."""
    if "detections" not in line:
        print(f"  pixelmill: {line.get('status')}")
        return False
    dets = line["detections"]
    got = (np.array([t["box"] for t in dets], np.float64).reshape(-1, 4),
           np.array([t["score"] for t in dets]), np.array([t["class"] for t in dets], int))
    print(f"  {w}x{h}: reference {len(ref[0])} boxes, pixelmill {len(got[0])}")
    ok = (line["width"], line["height"]) == (w, h)
    if not ok:
        print(f"  size mismatch: pixelmill says {line['width']}x{line['height']}")
    m = iou_matrix(ref[0], got[0]) if len(ref[0]) and len(got[0]) else np.zeros((len(ref[0]), len(got[0])))
    m = np.where(ref[2][:, None] == got[2][None, :], m, -1.0)
    pairs = []
    while m.size and m.max() >= IOU_MIN:
        i, j = np.unravel_index(np.argmax(m), m.shape)
        pairs.append((i, j, m[i, j]))
        m[i, :], m[:, j] = -1.0, -1.0
    for i, j, v in sorted(pairs):
        print(f"  class {ref[2][i]} score {ref[1][i]:.4f} iou {v:.4f} dscore {got[1][j] - ref[1][i]:+.2e}")
    for tag, (b, s, c), k in (("MISSING", ref, 0), ("EXTRA", got, 1)):
        for i in sorted(set(range(len(b))) - {p[k] for p in pairs}):
            print(f"  {tag} class {c[i]} score {s[i]:.4f} box {np.round(b[i], 2).tolist()}")
    return ok and len(pairs) == len(ref[0]) == len(got[0])


def make_page(path):
    """A synthetic A4 page (~150 dpi): title, two paragraphs, figure, table, captions."""
    p, rng = np.full((1754, 1240, 3), 255, np.uint8), np.random.default_rng(0)
    words = "the of and layout detector document region table figure caption model pixel".split()

    def text(s, x, y, f=0.8):
        cv2.putText(p, s, (x, y), cv2.FONT_HERSHEY_SIMPLEX, f, 0, 2, cv2.LINE_AA)

    def para(y, lines):
        for i in range(lines):
            x = 120
            while x < 1000:
                w = words[rng.integers(len(words))]
                text(w, x, y + 38 * i, 0.9)
                x += cv2.getTextSize(w, cv2.FONT_HERSHEY_SIMPLEX, 0.9, 2)[0][0] + 14
        return y + 38 * lines

    cv2.putText(p, "A Synthetic Page Title", (260, 150), cv2.FONT_HERSHEY_DUPLEX, 2.0, 0, 3, cv2.LINE_AA)
    y = para(260, 8)
    cv2.rectangle(p, (300, y + 40), (940, y + 460), 0, 2)
    cv2.circle(p, (620, y + 250), 150, (30, 90, 200), -1)
    text("Figure 1. A circle.", 450, y + 510)
    y = para(y + 600, 6) + 40
    text("Table 1. Numbers.", 480, y)
    for r in range(7):
        cv2.line(p, (200, y + 30 + 45 * r), (1040, y + 30 + 45 * r), 0, 2)
        for c in range(4 if r < 6 else 0):
            text(str(rng.integers(1000)), 230 + 210 * c, y + 62 + 45 * r)
    for c in range(5):
        cv2.line(p, (200 + 210 * c, y + 30), (200 + 210 * c, y + 300), 0, 2)
    cv2.imwrite(path, p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixelmill", required=True)
    ap.add_argument("--model", required=True, help="detector model card (.json)")
    ap.add_argument("--images", nargs="*", default=[])
    ap.add_argument("--page", help="draw a synthetic document page here and check it too")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-score", type=float)
    ap.add_argument("--work", help="directory for .npy files (default: a temporary one)")
    a = ap.parse_args()
    if a.page:
        os.makedirs(os.path.dirname(os.path.abspath(a.page)), exist_ok=True)
        make_page(a.page)
        a.images.append(a.page)
    if not a.images:
        ap.error("no images (--images, --page)")
    with open(a.model) as f:
        card = json.load(f)
    d = card["detector"]
    min_score = d["score_threshold"] if a.min_score is None else a.min_score
    work = a.work or tempfile.mkdtemp(prefix="check_detect.")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

    # A placeholder input (not 1x3xHxW of the card) gets symbolic dims, the outputs too.
    onnx_path = os.path.join(os.path.dirname(os.path.abspath(a.model)), card["file"])
    m = onnx.load(onnx_path)
    inp = next(i for i in m.graph.input if i.name == card["input"]["name"])
    want = [1, 3, card["input"]["height"], card["input"]["width"]]
    if [x.dim_value for x in inp.type.tensor_type.shape.dim] != want:
        for v in [inp] + list(m.graph.output):
            for k, dim in enumerate(v.type.tensor_type.shape.dim):
                dim.dim_param = f"{v.name}_d{k}"
        onnx_path = os.path.join(work, card["name"] + ".dynamic.onnx")
        onnx.save(m, onnx_path)
        print(f"{card['name']}: placeholder input; ORT and model run load {onnx_path}")
    out_names = [o.name for o in m.graph.output]
    pm_peers.import_ort().set_default_logger_severity(3)  # not one warning per CenterFace initializer
    sess = pm_peers.ort_session(onnx_path, a.threads)

    cmd = [a.pixelmill, "model", "detect", "--model", a.model, "--threads", str(a.threads),
           "--min-score", repr(min_score), "--image"] + a.images
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print(f"pixelmill model detect exited {r.returncode}")
        return 1
    lines = {j["image"]: j for j in map(json.loads, filter(str.strip, r.stdout.splitlines()))}

    all_ok, total, raw = True, 0, {}  # raw: output -> [lowest cosine, highest rel error]
    for n, path in enumerate(a.images):
        print(path)
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        assert bgr is not None, f"cannot decode {path}"
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        x, mapping = preprocess(rgb, card)
        outs = sess.run(out_names, {card["input"]["name"]: x})

        xin = os.path.join(work, f"x{n}.npy")
        opaths = [os.path.join(work, f"x{n}.{k}.npy") for k in range(len(outs))]
        pm_peers.save_npy(xin, x)
        run = [a.pixelmill, "model", "run", "--model", onnx_path, "--threads", str(a.threads), "--input", xin]
        if subprocess.run(run + [t for p in opaths for t in ("--output", p)], env=env).returncode != 0:
            print("  pixelmill model run failed")
            all_ok = False
        else:
            for o, ref, p in zip(out_names, outs, opaths):
                ok, cos, rel = compare_raw(ref, np.load(p, allow_pickle=False))
                worst = raw.setdefault(o, [1.0, 0.0])
                worst[:] = min(worst[0], cos), max(worst[1], rel)
                if not ok:
                    print(f"  raw output {o} FAILS: cosine {cos:.8f} max_abs_err/max|ORT| {rel:.3e}")
                all_ok &= ok

        h, w = rgb.shape[:2]
        ref = postprocess(decode(outs, card), mapping, w, h, min_score, d["nms_iou"], d["max_detections"])
        total += len(ref[0])
        if path not in lines:
            print("  no line from pixelmill")
            all_ok = False
        else:
            all_ok &= check_boxes(ref, lines[path], w, h)

    for o, (cos, rel) in raw.items():
        print(f"raw output {o}, worst image: cosine {cos:.8f} (>= {COS_MIN}), "
              f"max_abs_err/max|ORT| {rel:.3e} (<= {REL_ERR_MAX})")
    if total == 0:
        print(f"no boxes at min score {min_score} on any image: the check proves nothing")
        all_ok = False
    print(f"{card['name']}: {total} reference boxes at min score {min_score}: {'PASS' if all_ok else 'FAIL'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
