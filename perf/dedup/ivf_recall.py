#!/usr/bin/python3
"""Recall and cost of `dedup --index ivf` against the exact join, same run, same file.

  perf/dedup/ivf_recall.py make  WORK N [K]     N crops of Debian's photos -> WORK/crops/
                                               (K processes, each making N/K)
  perf/dedup/ivf_recall.py mosaic WORK N [K]    N scenes of 2 x 2 crops of different photos
                                               -> WORK/crops/ (the catalogue-like set, below)
  perf/dedup/ivf_recall.py embed WORK [RANKS] [PRECISION]
                                               extract them with the default model -> WORK/crops.h5
  perf/dedup/ivf_recall.py run   WORK [RANKS] [--oracle-bf16] [CONFIG ...]
                                               the exact join (in bf16 with --oracle-bf16), then
                                               each CONFIG: L:P (IVF), L:P:bf16, or exact:bf16

The set has the structure of a real catalogue, not of Gaussian noise: every photo that
Debian's darknet, opencv-doc and python3-skimage packages ship is cut into many random
crops (15-60 % of the side, anywhere in the photo), and 40 % of the crops appear in 2-3
versions (rescaled 40-100 %, JPEG quality 30-95, brightness/contrast/saturation changes, a
small shift): versions of one crop are duplicates, overlapping crops of one photo may be
near-duplicates, crops of different photos are not. `run` prints one markdown row per configuration: pairs found,
recall against the exact join's pairs (every IVF pair is an exact pair), GFLOP, the join's
and the whole command's wall time, and the peak RSS of a rank. A `:bf16` configuration
runs `--join-precision bf16` and must find exactly the pairs of its fp32 twin (the exact
join, or the IVF run at the same L:P when it is in the list; checked).

`make` cuts 117 photos into all N crops, so at N = 120,000 overlapping crops of one
photo already give 230 pairs per row, and their number grows with N^2: about 2 billion
pairs at 1M rows, more than the joins' pairs fit in this machine's memory. `mosaic` keeps
the crops and versions but puts four crops of four different photos (synthetic and
calibration, text and texture images left out: 58 photos) into one 256 x 256 scene, as a catalogue holds many different
pictures: a scene's duplicates are its own versions, and two scenes rarely match. It is the
1M-row set.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import time

import cv2
import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PM_BIN", os.path.join(ROOT, "build", "src", "app", "pixelmill"))
MODEL = os.path.join(ROOT, "models", "sscd_distilled.onnx")


def photos():
    found = []
    for pattern in ("/usr/share/darknet/data/*.jpg", "/usr/share/doc/opencv-doc/examples/data/*.jpg",
                    "/usr/share/doc/opencv-doc/examples/data/*.png",
                    "/usr/lib/python3/dist-packages/skimage/data/*.png",
                    "/usr/lib/python3/dist-packages/skimage/data/*.jpg"):
        for path in sorted(glob.glob(pattern)):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is not None and min(img.shape[:2]) >= 200:
                found.append((path, img))
    return found


def window(rng, img):
    """A random crop of 15-60 % of the side, anywhere in `img`: (x, y, width, height)."""
    h, w = img.shape[:2]
    side = rng.uniform(0.15, 0.6)
    cw, ch = max(32, int(w * side)), max(32, int(h * side * rng.uniform(0.8, 1.25)))
    ch = min(ch, h)
    return int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)), cw, ch


def shifted(rng, img, x0, y0, cw, ch):
    """The window moved by up to 5 % of its side, kept inside `img`: a version's crop."""
    h, w = img.shape[:2]
    dx, dy = int(rng.integers(-cw // 20, cw // 20 + 1)), int(rng.integers(-ch // 20, ch // 20 + 1))
    x, y = min(max(0, x0 + dx), w - cw), min(max(0, y0 + dy), h - ch)
    return img[y:y + ch, x:x + cw]


def recolour(rng, pixels):
    """Brightness, contrast and saturation changes of a version, clipped to uint8."""
    f = pixels.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-25, 25)
    grey = f.mean(axis=2, keepdims=True)
    f = grey + (f - grey) * rng.uniform(0.7, 1.3)
    return np.clip(f, 0, 255).astype(np.uint8)


def make_part(out, n, part, srcs):
    rng = np.random.default_rng(20261130 + part)
    made = 0
    while made < n:
        path, img = srcs[int(rng.integers(len(srcs)))]
        x0, y0, cw, ch = window(rng, img)
        versions = 1 if rng.uniform() < 0.6 else int(rng.integers(2, 4))
        for v in range(versions):
            crop = recolour(rng, shifted(rng, img, x0, y0, cw, ch)) if v else img[y0:y0 + ch, x0:x0 + cw]
            scale = min(1.0, 256 / max(crop.shape[:2])) * (rng.uniform(0.4, 1.0) if v else 1.0)
            crop = cv2.resize(crop, (max(16, int(crop.shape[1] * scale)), max(16, int(crop.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
            quality = int(rng.integers(30, 96)) if v else 90
            cv2.imwrite(os.path.join(out, f"c{part}-{made:07d}.jpg"), crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
            made += 1
            if made >= n:
                break


# Synthetic, calibration, text and texture images: crops of one chessboard match crops of
# another, which no catalogue of product photos has (most of the 120k set's cross-photo pairs).
SYNTHETIC = re.compile(r"^(chessboard|checker|left\d*\.|right\d*\.|gradient|digits|text|bw_text|"
                       r"page|pic\d|imageText|notes|detect_blob|ellipses|mask|ml\.|phantom|"
                       r"color|.*palette|horse\.png|.*logo|brick|grass|gravel|hubble)", re.IGNORECASE)


def real_photos():
    return [(p, img) for p, img in photos() if not SYNTHETIC.match(os.path.basename(p))]


def mosaic_part(out, n, part, srcs):
    rng = np.random.default_rng(20261201 + part)
    cell = 128
    made = 0
    while made < n:
        picks = rng.choice(len(srcs), size=4, replace=False)
        wins = [window(rng, srcs[int(i)][1]) for i in picks]
        versions = 1 if rng.uniform() < 0.6 else int(rng.integers(2, 4))
        for v in range(versions):
            scene = np.empty((2 * cell, 2 * cell, 3), np.uint8)
            for k, (i, (x0, y0, cw, ch)) in enumerate(zip(picks, wins)):
                img = srcs[int(i)][1]
                crop = shifted(rng, img, x0, y0, cw, ch) if v else img[y0:y0 + ch, x0:x0 + cw]
                r, c = divmod(k, 2)
                scene[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = cv2.resize(
                    crop, (cell, cell), interpolation=cv2.INTER_AREA)
            if v:
                scene = recolour(rng, scene)
                side = max(16, int(2 * cell * rng.uniform(0.4, 1.0)))
                scene = cv2.resize(scene, (side, side), interpolation=cv2.INTER_AREA)
            quality = int(rng.integers(30, 96)) if v else 90
            cv2.imwrite(os.path.join(out, f"m{part}-{made:07d}.jpg"), scene, [cv2.IMWRITE_JPEG_QUALITY, quality])
            made += 1
            if made >= n:
                break


def make(work, n, parts, part_fn=make_part, srcs_fn=photos):
    out = os.path.join(work, "crops")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    srcs = srcs_fn()
    pids = []
    for part in range(parts):
        pid = os.fork()
        if pid == 0:
            part_fn(out, n // parts + (1 if part < n % parts else 0), part, srcs)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit("a part of the crops failed")
    print(f"{len(os.listdir(out))} crops of {len(srcs)} photos in {out}")


def mpirun(ranks, args, work):
    # Each rank's peak RSS into its own file: the ranks' stderr lines interleave.
    rss_files = os.path.join(work, "maxrss")
    cmd = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", str(ranks), "sh", "-c",
           f'exec /usr/bin/time -o {rss_files}.$OMPI_COMM_WORLD_RANK -f %M "$@"', "sh", BIN] + args
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    rss = 0
    for r in range(ranks):
        with open(f"{rss_files}.{r}") as f:
            rss = max(rss, int(f.read().split()[-1]) / 1024)
        os.remove(f"{rss_files}.{r}")
    return p.stdout, wall, rss


def embed(work, ranks, precision):
    out = os.path.join(work, "crops.h5")
    stdout, wall, _ = mpirun(ranks, ["extract", "--input", "dir:" + os.path.join(work, "crops"),
                                     "--model", MODEL, "--output", out, "--threads", "1",
                                     "--precision", precision], work)
    print(stdout.strip().splitlines()[0] if stdout.strip() else "", f"\n{wall:.0f} s")


def pairs_of(path):
    """The pairs as one sorted int64 key per pair (i * N + j): tens of millions fit."""
    with h5py.File(path, "r") as f:
        p = f["/dedup/pairs"][:]
        n = f["/images/status"].shape[0]
    return np.sort(p[:, 0].astype(np.int64) * n + p[:, 1])


def is_subset(small, big):
    at = np.searchsorted(big, small)
    return bool(np.all(at < len(big)) and np.all(big[np.minimum(at, len(big) - 1)] == small))


def run(work, ranks, configs):
    src = os.path.join(work, "crops.h5")
    with h5py.File(src, "r") as f:
        n = f["/images/status"].shape[0]
    subprocess.run(["uptime"])
    rows = []

    def one(name, extra):
        path = os.path.join(work, f"run-{name}.h5")
        shutil.copy(src, path)
        stdout, wall, rss = mpirun(ranks, ["dedup", "--input", path, "--no-hbase-write"] + extra, work)
        join_s = float(re.search(r"join\s+([\d.e+-]+) s", stdout).group(1))
        gflop = float(re.search(r", ([\d.e+-]+) GFLOP", stdout).group(1))
        return path, join_s, gflop, wall, rss

    oracle_bf16 = "--oracle-bf16" in configs
    configs = [c for c in configs if c != "--oracle-bf16"]
    if oracle_bf16:  # the same pairs as fp32 by construction (block_join.h), in about 0.6 of the time
        path, join_s, gflop, wall, rss = one("exact-bf16", ["--index", "exact", "--join-precision", "bf16"])
    else:
        path, join_s, gflop, wall, rss = one("exact", ["--index", "exact"])
    exact = pairs_of(path)
    rows.append(("exact bf16" if oracle_bf16 else "exact", len(exact), 1.0, gflop, join_s, wall, rss))
    os.remove(path)
    found = {"exact": exact}
    for c in configs:
        parts = c.split(":")
        bf16 = parts[-1] == "bf16"
        if bf16:
            parts = parts[:-1]
        extra = ["--join-precision", "bf16"] if bf16 else []
        if parts == ["exact"]:
            key, name = "exact", "exact bf16"
            args = ["--index", "exact"]
        else:
            lists, probe = parts
            key, name = f"{lists}:{probe}", f"ivf L={lists} P={probe}" + (" bf16" if bf16 else "")
            args = ["--index", "ivf", "--lists", lists, "--probe", probe]
        path, j, g, w, r = one(name.replace(" ", "-").replace("=", ""), args + extra)
        got = pairs_of(path)
        os.remove(path)  # 2 GiB of embeddings at 1M rows
        assert is_subset(got, exact), "a pair the exact join does not have"
        if bf16 and key in found:
            assert np.array_equal(got, found[key]), f"{name} found other pairs than its fp32 twin"
        elif not bf16:
            found[key] = got
        rows.append((name, len(got), len(got) / max(1, len(exact)), g, j, w, r))
    print(f"\n{n} rows, {ranks} ranks, threshold of the model card\n")
    print("| join | pairs | recall | GFLOP | FLOP ratio | join s | time ratio | command s | peak RSS/rank MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, pairs, recall, g, j, w, r in rows:
        print(f"| {name} | {pairs} | {recall:.4f} | {g:.1f} | {rows[0][3] / g:.1f}x | {j:.2f} | "
              f"{rows[0][4] / j:.1f}x | {w:.1f} | {r:.0f} |")


if __name__ == "__main__":
    cmd, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    if cmd == "make":
        make(work, int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    elif cmd == "mosaic":
        make(work, int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1, mosaic_part, real_photos)
    elif cmd == "embed":
        embed(work, int(sys.argv[3]) if len(sys.argv) > 3 else 2, sys.argv[4] if len(sys.argv) > 4 else "fp32")
    elif cmd == "run":
        run(work, int(sys.argv[3]) if len(sys.argv) > 3 else 2, sys.argv[4:] or ["64:4", "128:8", "256:8"])
    else:
        sys.exit(__doc__)
