#!/usr/bin/python3
"""How close int8 embeddings are to fp32 on real photos (issue 14 item 3), for a model whose
card takes uint8 NHWC pixels (the default, sscd_distilled):

  perf/engine/int8_accuracy.py --pixelmill BIN [--model models/sscd_distilled.json]
                               [--calibration 32] [--work DIR] [--method minmax|percentile]
                               [--skip first,last,depthwise]

The photos are the ones Debian's darknet, opencv-doc and python3-skimage packages ship (the
set perf/dedup/ivf_recall.py crops). Sorted by path, every third photo (up to
--calibration) calibrates make_qdq.py's QDQ copy; the others, and two random crops of each
(25-70 % of the side), are embedded by `pixelmill model run` three ways: fp32 on the fp32
file, the QDQ file as written (fake-quantised fp32), and `--precision int8`. Prints the
cosine of each to fp32 per image: median, 1st percentile, minimum. Pixels are prepared as the
card says (RGB, squash to its size with INTER_AREA), the same tensors for every run.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PATTERNS = ("/usr/share/darknet/data/*.jpg", "/usr/share/doc/opencv-doc/examples/data/*.jpg",
            "/usr/share/doc/opencv-doc/examples/data/*.png",
            "/usr/lib/python3/dist-packages/skimage/data/*.png",
            "/usr/lib/python3/dist-packages/skimage/data/*.jpg")


def photos():
    out = []
    for pattern in PATTERNS:
        for path in sorted(glob.glob(pattern)):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is not None and min(img.shape[:2]) >= 64:
                out.append((path, img))
    return out


def prepare(img, card):
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (card["input"]["width"], card["input"]["height"]), interpolation=cv2.INTER_AREA)


def cosines(a, b):
    a = a.astype(np.float64).reshape(len(a), -1)
    b = b.astype(np.float64).reshape(len(b), -1)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixelmill", required=True)
    ap.add_argument("--model", default=os.path.join(REPO, "models", "sscd_distilled.json"))
    ap.add_argument("--calibration", type=int, default=32)
    ap.add_argument("--work", default="")
    ap.add_argument("--method", default="minmax", choices=["minmax", "percentile"])
    ap.add_argument("--skip", default="", help="make_qdq.py --skip: ops left in fp32")
    a = ap.parse_args()
    with open(a.model) as f:
        card = json.load(f)
    if card["input"].get("dtype") != "uint8" or card["input"].get("layout") != "NHWC":
        sys.exit("int8_accuracy: the card's input is not uint8 NHWC pixels")
    fp32 = os.path.join(os.path.dirname(a.model), card["file"])
    found = photos()
    calib = [img for i, (_, img) in enumerate(found) if i % 3 == 0][: a.calibration]
    rng = np.random.default_rng(20261130)
    evals, names = [], []
    for i, (path, img) in enumerate(found):
        if i % 3 == 0 and i // 3 < a.calibration:
            continue
        evals.append(prepare(img, card))
        names.append(path)
        h, w = img.shape[:2]
        for k in range(2):
            side = rng.uniform(0.25, 0.7)
            cw, ch = max(32, int(w * side)), max(32, int(h * side))
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            evals.append(prepare(img[y0:y0 + ch, x0:x0 + cw], card))
            names.append(f"{path} crop {k}")
    work = a.work or tempfile.mkdtemp(prefix="pm_int8_acc_")
    os.makedirs(work, exist_ok=True)
    calib_npy, eval_npy = os.path.join(work, "calibration.npy"), os.path.join(work, "eval.npy")
    np.save(calib_npy, np.stack([prepare(img, card) for img in calib]))
    np.save(eval_npy, np.stack(evals))
    qdq = os.path.join(work, card["name"] + ".qdq.onnx")
    subprocess.run([sys.executable, os.path.join(HERE, "make_qdq.py"), fp32, calib_npy, qdq, "--method", a.method]
                   + (["--skip", a.skip] if a.skip else []), check=True)
    outs = {}
    for name, model, extra in (("fp32", fp32, []), ("qdq as written", qdq, []),
                               ("int8", qdq, ["--precision", "int8"])):
        path = os.path.join(work, name.replace(" ", "_") + ".npy")
        r = subprocess.run([a.pixelmill, "model", "run", "--model", model, "--input", eval_npy, "--output", path]
                           + extra, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"pixelmill model run ({name}) failed:\n{r.stderr}")
        outs[name] = np.load(path)
    print(f"{card['name']}, {a.method} calibration: {len(calib)} calibration photos, {len(evals)} evaluated "
          f"({len(evals) // 3} photos and 2 crops each), Debian's package photos")
    print("| embedding | cosine to fp32: median | 1st percentile | minimum |")
    print("|---|---:|---:|---:|")
    for name in ("qdq as written", "int8"):
        c = cosines(outs[name], outs["fp32"])
        print(f"| {name} | {np.median(c):.5f} | {np.percentile(c, 1):.5f} | {c.min():.5f} |")
        worst = int(np.argmin(c))
        print(f"|   (worst: {os.path.basename(names[worst])}) | | | |")
    c = cosines(outs["int8"], outs["qdq as written"])
    print(f"int8 against the QDQ file as written: median {np.median(c):.6f}, minimum {c.min():.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
