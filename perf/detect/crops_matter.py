#!/usr/bin/python3
"""Where crops matter (issue 13, item 5): the same photo reused on other pages, at other
positions and scales, among other text. Whole-image dedup compares pages; crop dedup
compares the figures the layout detector cut out. Precision and recall of "these two
pages share a photo", both ways, on the same run.

  crops_matter.py [--pixelmill BIN] [--photos 40] [--uses 3] [--ranks 2] [--work DIR]

Pages: 1240x1754 white, a title and paragraphs of seeded random words, and one photo
(sometimes two) from the Debian packages the demo uses (scripts/make_demo_data.py),
scaled to 35-65% of the page width at a seeded place, with a caption. Every photo is
used on --uses pages. The truth: two pages share a photo. Whole-image pairs are
/dedup/pairs (`extract --dedup`, the card's threshold); crop pairs are
/dedup_crops/image_pairs (`dedup --on crops`, the crop model card's threshold), with
`extract --detector models/picodet_layout_cdla.json --classes figure`. Prints a Markdown
table; nothing is asserted."""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import cv2
import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_demo_data  # noqa: E402  (the photo list)

WORDS = ("the of and a to in is for on with as by at from that this be are it an or "
         "product price shipping color size order review delivery photo item new sale").split()


def text_lines(page, rng, y, lines):
    for i in range(lines):
        x = 100
        while x < 1100:
            w = WORDS[rng.integers(len(WORDS))]
            cv2.putText(page, w, (x, y + 38 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2, cv2.LINE_AA)
            x += cv2.getTextSize(w, cv2.FONT_HERSHEY_SIMPLEX, 0.9, 2)[0][0] + 14
    return y + 38 * lines


def make_pages(folder, photos, uses, seed=5):
    """Returns {page name: [photo indexes]}."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    slots = [i for i in range(len(photos)) for _ in range(uses)]
    rng.shuffle(slots)
    pages = []
    while slots:
        k = 2 if len(slots) >= 2 and rng.random() < 0.25 and slots[-1] != slots[-2] else 1
        pages.append([slots.pop() for _ in range(k)])
    truth = {}
    for n, used in enumerate(pages):
        page = np.full((1754, 1240, 3), 255, np.uint8)
        cv2.putText(page, " ".join(WORDS[rng.integers(len(WORDS))] for _ in range(3)).title(), (120, 140),
                    cv2.FONT_HERSHEY_DUPLEX, 1.8, 0, 3, cv2.LINE_AA)
        y = text_lines(page, rng, 230, int(rng.integers(3, 9)))
        for p in used:
            img = photos[p]
            w = int(1240 * rng.uniform(0.35, 0.65))
            h = max(1, int(img.shape[0] * w / img.shape[1]))
            if y + 40 + h + 60 > 1754:
                h = 1754 - y - 100
                w = max(1, int(img.shape[1] * h / img.shape[0]))
            x = int(rng.integers(60, max(61, 1240 - w - 60)))
            page[y + 40:y + 40 + h, x:x + w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            cv2.putText(page, f"Figure {n}.{p}", (x, y + h + 80), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2, cv2.LINE_AA)
            y = y + h + 110
            if y < 1500:
                y = text_lines(page, rng, y + 20, int(rng.integers(1, 4)))
        name = f"page{n:04d}.jpg"
        cv2.imwrite(os.path.join(folder, name), page, [cv2.IMWRITE_JPEG_QUALITY, 90])
        truth[name] = used
    return truth


def keys(f):
    lens = f["/images/key_length"][:]
    return [bytes(f["/images/key"][i][: lens[i]]).decode() for i in range(len(lens))]


def score(found, truth_pairs):
    tp = len(found & truth_pairs)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth_pairs) if truth_pairs else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return tp, p, r, f1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixelmill", default=os.path.join(ROOT, "build", "src", "app", "pixelmill"))
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--uses", type=int, default=3)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pm_crops_matter_")
    paths = [p for group in make_demo_data.PHOTOS.values() for p in group if os.path.exists(p)][: a.photos]
    photos = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    folder = os.path.join(work, "pages")
    truth = make_pages(folder, photos, a.uses)
    names = sorted(truth)
    truth_pairs = {(i, j) for i, j in itertools.combinations(range(len(names)), 2)
                   if set(truth[names[i]]) & set(truth[names[j]])}
    out = os.path.join(work, "pages.h5")
    if os.path.exists(out):
        os.remove(out)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    mpi = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", str(a.ranks), a.pixelmill]
    subprocess.run(mpi + ["extract", "--input", f"dir:{folder}", "--output", out, "--dedup", "--no-hbase-dedup",
                          "--detector", os.path.join(ROOT, "models", "picodet_layout_cdla.json"),
                          "--classes", "figure", "--quiet"], check=True, env=env)
    subprocess.run(mpi + ["dedup", "--input", out, "--on", "crops", "--quiet"], check=True, env=env)
    with h5py.File(out, "r") as f:
        k = keys(f)
        assert k == names, "rows are not the pages in name order"
        whole = {tuple(p) for p in f["/dedup/pairs"][:].tolist()}
        crops = {tuple(p) for p in f["/dedup_crops/image_pairs"][:].tolist()}
        objects = f["/detections/image"].shape[0]
        t_whole = float(f["/dedup"].attrs["threshold"])
        t_crops = float(f["/dedup_crops"].attrs["threshold"])
    used = sum(len(v) for v in truth.values())
    print(f"{len(names)} pages, {len(photos)} photos each on {a.uses} pages ({used} placed), "
          f"{len(truth_pairs)} page pairs share a photo; {objects} figures detected\n")
    print("| method | threshold | pairs found | true | precision | recall | F1 |")
    print("|---|---|---|---|---|---|---|")
    for label, found, t in (("whole image (/dedup/pairs)", whole, t_whole),
                            ("crops (/dedup_crops/image_pairs)", crops, t_crops)):
        tp, p, r, f1 = score(found, truth_pairs)
        print(f"| {label} | {t:.2f} | {len(found)} | {tp} | {p:.3f} | {r:.3f} | {f1:.3f} |")


if __name__ == "__main__":
    main()
