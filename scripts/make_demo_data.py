#!/usr/bin/python3
"""Demo image set for pixelmill: real photos from Debian packages and near duplicates.

Run through scripts/make-demo-data.sh OUTDIR. Originals are copied byte for byte into
OUTDIR/<theme>/; variants of a fixed, seeded third of them go to OUTDIR/near_dups/:
resized to half, re-encoded as JPEG q=40, 10% cropped (5% off every side), brightened,
with a small text overlay, or copied byte for byte (see TRANSFORMS and main).
MANIFEST.tsv lists every file with its origin (the Debian file for an original, the
original's path in OUTDIR for a variant) and the transform ("original" for originals).
"""
import os
import shutil
import sys

import cv2
import numpy as np

DARKNET = "/usr/share/darknet/data/"
OCV = "/usr/share/doc/opencv-doc/examples/"
SKI = "/usr/lib/python3/dist-packages/skimage/data/"
MPL = "/usr/share/matplotlib/mpl-data/sample_data/"

# Real photographs only (no renders, diagrams, logos, chessboards or paintings), and one
# photo of each stereo/sequence pair so that the originals are not duplicates themselves.
PHOTOS = {
    "animals": [DARKNET + "dog.jpg", DARKNET + "eagle.jpg", DARKNET + "giraffe.jpg",
                DARKNET + "horses.jpg", SKI + "chelsea.png", OCV + "data/squirrel_cls.jpg",
                OCV + "data/baboon.jpg", OCV + "data/chicky_512.png", OCV + "hfs/data/000.jpg",
                OCV + "data/butterfly.jpg"],
    "people": [DARKNET + "person.jpg", DARKNET + "kite.jpg", OCV + "data/messi5.jpg",
               SKI + "astronaut.png", SKI + "camera.png", MPL + "grace_hopper.jpg",
               OCV + "data/basketball1.png"],
    "places": [OCV + "data/aero1.jpg", OCV + "data/building.jpg", OCV + "data/home.jpg",
               OCV + "data/leuvenA.jpg", OCV + "text/scenetext01.jpg",
               OCV + "text/scenetext02.jpg", OCV + "text/scenetext03.jpg",
               OCV + "text/scenetext04.jpg", OCV + "text/scenetext05.jpg",
               OCV + "text/scenetext06.jpg", SKI + "rocket.jpg"],
    "objects": [OCV + "data/apple.jpg", OCV + "data/fruits.jpg", OCV + "data/orange.jpg",
                OCV + "data/smarties.png", OCV + "data/stuff.jpg", SKI + "coffee.png",
                SKI + "motorcycle_left.png", OCV + "data/board.jpg", OCV + "data/box.png",
                OCV + "data/left.jpg", OCV + "data/ela_original.jpg",
                OCV + "data/rubberwhale1.png", OCV + "data/aloeL.jpg",
                OCV + "alphamat/input_images/plant.jpg", OCV + "data/graf1.png",
                OCV + "data/sudoku.png", SKI + "coins.png"],
    "sky": [SKI + "hubble_deep_field.jpg", SKI + "moon.png"],
}


def jpg(img, q=92):
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return buf.tobytes()


def resize_half(img):
    h, w = img.shape[:2]
    return jpg(cv2.resize(img, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))


def jpeg_q40(img):
    return jpg(img, 40)


def crop_10(img):
    h, w = img.shape[:2]
    dy, dx = h // 20, w // 20  # 10% of each dimension: 5% off every side
    return jpg(img[dy:h - dy, dx:w - dx])


def brighter(img):
    return jpg(cv2.convertScaleAbs(img, alpha=1.0, beta=20))


def text_overlay(img):
    out = img.copy()
    h, w = out.shape[:2]
    scale = max(0.5, w / 800)
    org = (w // 20, h - h // 15)
    cv2.putText(out, "SALE -20%", org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                int(3 * scale) + 2, cv2.LINE_AA)
    cv2.putText(out, "SALE -20%", org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                int(2 * scale), cv2.LINE_AA)
    return jpg(out)


TRANSFORMS = [("resize_50", resize_half), ("jpeg_q40", jpeg_q40), ("crop_10", crop_10),
              ("brightness_+20", brighter), ("text_overlay", text_overlay)]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_demo_data.py OUTDIR")
    out = sys.argv[1]
    missing = [p for ps in PHOTOS.values() for p in ps if not os.path.isfile(p)]
    if missing:
        sys.exit("make-demo-data: missing source photos (run scripts/install-deps.sh): " +
                 " ".join(missing))
    os.makedirs(os.path.join(out, "near_dups"), exist_ok=True)
    manifest = []
    originals = []
    for theme, paths in PHOTOS.items():
        os.makedirs(os.path.join(out, theme), exist_ok=True)
        for src in paths:
            rel = os.path.join(theme, os.path.basename(src))
            shutil.copyfile(src, os.path.join(out, rel))
            manifest.append((rel, src, "original"))
            originals.append(rel)

    # A fixed third of the originals gets variants; the transforms rotate so that every
    # kind appears several times, and every third chosen photo gets a second variant.
    rng = np.random.default_rng(20240611)
    chosen = sorted(rng.choice(len(originals), size=len(originals) // 3, replace=False))
    for k, i in enumerate(chosen):
        rel = originals[i]
        img = cv2.imread(os.path.join(out, rel), cv2.IMREAD_COLOR)
        stem = os.path.splitext(os.path.basename(rel))[0]
        picks = [TRANSFORMS[k % len(TRANSFORMS)]]
        if k % 3 == 0:
            picks.append(TRANSFORMS[(k + 2) % len(TRANSFORMS)])
        for name, fn in picks:
            vrel = os.path.join("near_dups", f"{stem}__{name}.jpg")
            with open(os.path.join(out, vrel), "wb") as f:
                f.write(fn(img))
            manifest.append((vrel, rel, name))
        if k % 5 == 1:  # an exact byte copy: same content hash
            ext = os.path.splitext(rel)[1]
            vrel = os.path.join("near_dups", f"{stem}__copy{ext}")
            shutil.copyfile(os.path.join(out, rel), os.path.join(out, vrel))
            manifest.append((vrel, rel, "exact_copy"))

    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.write("file\torigin\ttransform\n")
        for row in manifest:
            f.write("\t".join(row) + "\n")
    n_var = len(manifest) - len(originals)
    print(f"make-demo-data: {len(originals)} photos, {n_var} near-duplicate variants "
          f"of {len(chosen)} of them in {out}")


if __name__ == "__main__":
    main()
