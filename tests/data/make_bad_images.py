#!/usr/bin/python3
"""Writes a directory that mixes good images with bad ones (issue 2), and EXPECTED.tsv.

Usage: /usr/bin/python3 tests/data/make_bad_images.py OUTDIR

EXPECTED.tsv has a header row, then one row per file:
    file  status  width  height
status is the pm::status_name of what decode_image (and extract) must report; width and
height are the upright full size for files that decode (and for the header-only bomb),
empty otherwise. Everything is deterministic (fixed seeds, no clock, no randomness from
the system), so the files are byte-identical on every run.
Needs Debian's python3-opencv, python3-numpy and python3-pil.
"""
import io
import os
import struct
import sys
import zlib

import cv2
import numpy as np
from PIL import Image


def photo_like(h, w, seed):
    """A smooth colour image with some texture: compresses like a photo, decodes exactly."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(0.5, 4, 3)
        img[..., c] = 127 + 90 * np.sin(2 * np.pi * (fx * x / w + fy * y / h) + ph)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)  # RGB


def jpeg_bytes(rgb, quality=90, progressive=False):
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    if progressive:
        params += [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    assert ok
    return buf.tobytes()


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def bomb_png(width, height):
    """A valid PNG header claiming width x height RGB pixels, with a tiny IDAT: only a
    decoder that trusts the header would try to allocate width*height*3 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) +
            png_chunk(b"IEND", b""))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_bad_images.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rows = []

    def put(name, data, status, size=None):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        w, h = size if size else ("", "")
        rows.append((name, status, str(w), str(h)))

    def pil_bytes(img, fmt, **kw):
        b = io.BytesIO()
        img.save(b, fmt, **kw)
        return b.getvalue()

    rgb = photo_like(240, 320, 1)
    # Good images, several formats.
    put("good.jpg", jpeg_bytes(rgb), "ok", (320, 240))
    put("good_progressive.jpg", jpeg_bytes(rgb, progressive=True), "ok", (320, 240))
    put("good.png", cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes(), "ok", (320, 240))
    put("good.webp", cv2.imencode(".webp", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                                  [cv2.IMWRITE_WEBP_QUALITY, 90])[1].tobytes(), "ok", (320, 240))
    put("good.bmp", cv2.imencode(".bmp", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes(), "ok", (320, 240))
    put("good.tiff", cv2.imencode(".tiff", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes(), "ok", (320, 240))
    big = photo_like(1200, 1600, 2)
    put("large_4x.jpg", jpeg_bytes(big), "ok", (1600, 1200))
    # EXIF orientation 6 (rotate 90 clockwise to view): stored 320x240, upright 240x320.
    exif = Image.Exif()
    exif[0x0112] = 6
    put("exif_rotate90.jpg", pil_bytes(Image.fromarray(rgb), "JPEG", quality=90, exif=exif.tobytes()),
        "ok", (240, 320))

    # The list of issue 2.
    full = jpeg_bytes(rgb)
    put("truncated.jpg", full[: len(full) * 6 // 10], "corrupt")
    prog = jpeg_bytes(rgb, progressive=True)
    put("truncated_progressive.jpg", prog[: len(prog) * 6 // 10], "corrupt")
    rnd = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    put("random_bytes.jpg", b"\x00" + rnd[1:], "corrupt")  # 0x00 first: no image signature
    put("empty.jpg", b"", "empty")
    put("text.jpg", b"This is a text file, not a picture.\nIt only has a .jpg name.\n", "corrupt")
    put("one_pixel.png", cv2.imencode(".png", np.array([[[30, 60, 90]]], np.uint8))[1].tobytes(),
        "ok", (1, 1))
    deep = (photo_like(64, 96, 3).astype(np.uint16) * 257)
    put("depth16.png", cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))[1].tobytes(), "ok", (96, 64))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    put("gray.jpg", cv2.imencode(".jpg", gray)[1].tobytes(), "ok", (320, 240))
    put("gray.png", cv2.imencode(".png", gray)[1].tobytes(), "ok", (320, 240))
    put("cmyk.jpg", pil_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=92), "ok", (320, 240))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :160, 3] = 0  # left half fully transparent: composited on white
    put("alpha.png", cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))[1].tobytes(), "ok", (320, 240))
    put("bomb_60000x60000.png", bomb_png(60000, 60000), "too_large", (60000, 60000))

    # A few more that a crawl meets.
    put("still.gif", pil_bytes(Image.fromarray(rgb).convert("P"), "GIF"), "unsupported")
    png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
    put("truncated_header.png", png[:20], "corrupt")
    put("truncated_data.png", png[: len(png) // 2], "corrupt")

    with open(os.path.join(out, "EXPECTED.tsv"), "w") as f:
        f.write("file\tstatus\twidth\theight\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
