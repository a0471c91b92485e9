#!/usr/bin/python3
"""How close int8 embeddings are to fp32 on real photos, and how fast they are (issue 14
items 3 and 5), for a model whose card takes uint8 NHWC pixels (the default, sscd_distilled):

  perf/engine/int8_accuracy.py --pixelmill BIN [--model models/sscd_distilled.json]
      [--images 24] [--check-images 18] [--work DIR] [--threads 1]
      [--configs minmax:0.99,minmax:0.99:equalize,percentile:0.99,...]

The photos are the ones Debian's darknet, opencv-doc and python3-skimage packages ship (the
set perf/dedup/ivf_recall.py crops). Sorted by path, every third photo goes to
`pixelmill model quantize` (which samples its calibration and check images from them); the
others, and two random crops of each (25-70 % of the side), are never seen by it and are
embedded by `pixelmill model run`: fp32 on the fp32 file and `--precision int8` on each QDQ
file. Each config is METHOD:TARGET[:equalize] (--method, --target-cosine, 0 = every layer
int8; and --equalize). Prints
per config the cosine of each embedding to fp32 (median, 1st percentile, minimum), the layers
kept fp32, and `pixelmill model bench` img/s (batch 16, the card's size, --threads) of the int8
file against the fp32 file measured in the same run. Pixels are prepared as the card says
(RGB, squash to its size with INTER_AREA), the same tensors for every run.
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


def bench(pixelmill, model, card, threads, precision):
    r = subprocess.run([pixelmill, "model", "bench", "--model", model, "--batch", "16", "--threads", str(threads),
                        "--precision", precision, "--height", str(card["input"]["height"]),
                        "--width", str(card["input"]["width"])], capture_output=True, text=True, check=True)
    return float(r.stdout.split(": ")[-1].split(" img/s")[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--pixelmill", required=True)
    ap.add_argument("--model", default=os.path.join(REPO, "models", "sscd_distilled.json"))
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--check-images", type=int, default=18)
    ap.add_argument("--work", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", default="minmax:0.99,minmax:0.99:equalize,percentile:0.99,entropy:0.99,"
                                         "minmax:0,minmax:0:equalize,percentile:0,entropy:0")
    a = ap.parse_args()
    with open(a.model) as f:
        card = json.load(f)
    if card["input"].get("dtype") != "uint8" or card["input"].get("layout") != "NHWC":
        sys.exit("int8_accuracy: the card's input is not uint8 NHWC pixels")
    fp32 = os.path.join(os.path.dirname(os.path.abspath(a.model)), card["file"])
    found = photos()
    work = a.work or tempfile.mkdtemp(prefix="pm_int8_acc_")
    os.makedirs(work, exist_ok=True)
    calib_list = os.path.join(work, "quantize_photos.txt")
    with open(calib_list, "w") as f:
        f.write("".join(path + "\n" for i, (path, _) in enumerate(found) if i % 3 == 0))
    rng = np.random.default_rng(20261130)
    evals, names = [], []
    for i, (path, img) in enumerate(found):
        if i % 3 == 0:
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
    eval_npy = os.path.join(work, "eval.npy")
    np.save(eval_npy, np.stack(evals))

    def embed(model, extra):
        path = os.path.join(work, os.path.basename(model) + ".npy")
        r = subprocess.run([a.pixelmill, "model", "run", "--model", model, "--input", eval_npy, "--output", path]
                           + extra, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"pixelmill model run ({model}) failed:\n{r.stderr}")
        return np.load(path)

    ref = embed(fp32, [])
    print(f"{card['name']}: model quantize on {sum(1 for i in range(len(found)) if i % 3 == 0)} photos "
          f"(--images {a.images} --check-images {a.check_images}); {len(evals)} others evaluated "
          f"({len(evals) // 3} photos and 2 crops each), Debian's package photos; bench batch 16, "
          f"{card['input']['height']}x{card['input']['width']}, {a.threads} thread(s)")
    print("| method | --target-cosine | layers int8 | cosine to fp32: median | 1st percentile | minimum "
          "| int8 img/s | fp32 img/s | int8 / fp32 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for config in a.configs.split(","):
        method, target, *more = config.split(":")
        extra = ["--equalize"] if more == ["equalize"] else []
        qdq = os.path.join(work, f"{card['name']}.{method}.{target}{'.eq' if extra else ''}.int8.onnx")
        r = subprocess.run([a.pixelmill, "model", "quantize", "--model", a.model, "--calibration", "list:" + calib_list,
                            "--images", str(a.images), "--check-images", str(a.check_images), "--method", method,
                            "--target-cosine", target, "--output", qdq, "--threads", str(a.threads)] + extra,
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"| {method} | {target} | model quantize failed: {r.stderr.strip().splitlines()[-1]} |")
            continue
        with open(qdq[:-5] + ".json") as f:
            q = json.load(f)["quantization"]
        c = cosines(embed(qdq, ["--precision", "int8"]), ref)
        total = int(r.stdout.split(" of ")[1].split(" ")[0])
        speed_q = bench(a.pixelmill, qdq, card, a.threads, "int8")
        speed_f = bench(a.pixelmill, fp32, card, a.threads, "fp32")
        print(f"| {method}{' --equalize' if extra else ''} | {target} | {total - len(q['kept_fp32'])} of {total} | {np.median(c):.5f} | "
              f"{np.percentile(c, 1):.5f} | {c.min():.5f} | {speed_q:.1f} | {speed_f:.1f} | {speed_q / speed_f:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
