#!/usr/bin/python3
"""Writes the run_file fuzz inputs: the seeds of tests/fuzz/corpus/run_file/ and the two
damaged files of tests/fuzz/hangs/run_file/. Run once, by hand, with a built binary:

  tests/fuzz/make_run_file_seeds.py BUILD/src/app/pixelmill

The seeds are real run files made by the binary, in the format it writes (superblock 2,
every structure checksummed; src/sink/hdf5/h5_file.h):
  pixelmill extract --input dir:P --model M/tiny_embed.onnx --output extract.h5
  cp extract.h5 dedup.h5 && pixelmill dedup --input dedup.h5 --threshold 0.5
with P holding darknet's dog, horses and person photos and a copy of dog.jpg. The writer
allocates 1 MiB chunks (10 MiB files for 4 rows), so each is rewritten with chunks of its 4
rows by h5repack, nothing else changed. h5repack at the checksummed level writes
superblock 3, which differs from 2 only in its version byte and in a flag that a closed
file has clear, so the copy gets back version 2 and the superblock's checksum (Jenkins's
lookup3, as libhdf5 computes it) is recomputed.

The damaged files start from the extract seed with its `command_line` attribute rewritten
as a variable-length string (what files of the older format held, and what h5py writes),
which libhdf5 keeps in a global heap, the one structure of the file without a checksum:
  timeout-v2: the heap's first object has index 0 and size 0; libhdf5 1.10 loops forever.
  crash-v2:   the same object claims 1.6 GB; libhdf5 1.10 copies past the heap's end.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTOS = "/usr/share/darknet/data"


def lookup3(data, initval=0):
    """H5_checksum_lookup3: Bob Jenkins's hashlittle, byte by byte."""
    m = 0xFFFFFFFF

    def rot(x, k):
        return ((x << k) | (x >> (32 - k))) & m

    a = b = c = (0xDEADBEEF + len(data) + initval) & m
    k, n = 0, len(data)
    while n > 12:
        a = (a + int.from_bytes(data[k:k + 4], "little")) & m
        b = (b + int.from_bytes(data[k + 4:k + 8], "little")) & m
        c = (c + int.from_bytes(data[k + 8:k + 12], "little")) & m
        a = (a - c) & m; a ^= rot(c, 4); c = (c + b) & m
        b = (b - a) & m; b ^= rot(a, 6); a = (a + c) & m
        c = (c - b) & m; c ^= rot(b, 8); b = (b + a) & m
        a = (a - c) & m; a ^= rot(c, 16); c = (c + b) & m
        b = (b - a) & m; b ^= rot(a, 19); a = (a + c) & m
        c = (c - b) & m; c ^= rot(b, 4); b = (b + a) & m
        k, n = k + 12, n - 12
    if n == 0:
        return c
    tail = data[k:k + n] + bytes(12 - n)
    a = (a + int.from_bytes(tail[0:4], "little")) & m
    b = (b + int.from_bytes(tail[4:8], "little")) & m
    c = (c + int.from_bytes(tail[8:12], "little")) & m
    c ^= b; c = (c - rot(b, 14)) & m
    a ^= c; a = (a - rot(c, 11)) & m
    b ^= a; b = (b - rot(a, 25)) & m
    c ^= b; c = (c - rot(b, 16)) & m
    a ^= c; a = (a - rot(c, 4)) & m
    b ^= a; b = (b - rot(a, 14)) & m
    c ^= b; c = (c - rot(b, 24)) & m
    return c


def superblock_2(path):
    d = bytearray(open(path, "rb").read())
    assert d[:8] == b"\x89HDF\r\n\x1a\n" and d[8] == 3 and d[9] == 8, "expected superblock 3, 8-byte offsets"
    end = 12 + 4 * 8  # signature .. root object header address
    assert lookup3(bytes(d[:end])) == int.from_bytes(d[end:end + 4], "little"), "lookup3 disagrees with libhdf5"
    assert d[11] == 0, "the file was not closed cleanly"
    d[8] = 2
    d[end:end + 4] = lookup3(bytes(d[:end])).to_bytes(4, "little")
    open(path, "wb").write(d)


def small_chunks(src, dst):
    cols = ["error", "height", "key_length", "phash", "status", "timestamp", "width"]
    layout = ["-l", "images/content_hash:CHUNK=4x32", "-l", "images/embedding:CHUNK=4x32",
              "-l", "images/key:CHUNK=4x10"] + [a for c in cols for a in ("-l", f"images/{c}:CHUNK=4")]
    subprocess.run(["h5repack", "--low=2", "--high=2", "-c", "4096", "-d", "4096"] + layout + [src, dst], check=True)
    superblock_2(dst)


def damaged(seed, out_dir):
    for name, index, size in (("timeout-v2", 0, 0), ("crash-v2", None, 1_600_000_000)):
        path = os.path.join(out_dir, name)
        shutil.copy(seed, path)
        with h5py.File(path, "r+") as f:
            text = str(f.attrs["command_line"].decode() if isinstance(f.attrs["command_line"], bytes)
                       else f.attrs["command_line"])
            del f.attrs["command_line"]
            f.attrs["command_line"] = text  # h5py writes str as a variable-length string
        d = bytearray(open(path, "rb").read())
        at = d.find(b"GCOL")
        assert at > 0 and d.find(b"GCOL", at + 1) < 0, "expected one global heap"
        first = at + 16  # signature, version, reserved, collection size
        if index is not None:
            d[first:first + 2] = index.to_bytes(2, "little")
        d[first + 8:first + 16] = size.to_bytes(8, "little")
        open(path, "wb").write(d)


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="pm-run-seeds-")
    try:
        photos = os.path.join(work, "p")
        os.makedirs(photos)
        for name in ("dog.jpg", "horses.jpg", "person.jpg"):
            shutil.copy(os.path.join(PHOTOS, name), photos)
        shutil.copy(os.path.join(PHOTOS, "dog.jpg"), os.path.join(photos, "dog-copy.jpg"))
        run = lambda *a: subprocess.run([binary, *a], check=True, cwd=work, stdout=subprocess.DEVNULL)
        run("model", "make-test", "--out", "m")
        run("extract", "--input", "dir:p", "--model", "m/tiny_embed.onnx", "--output", "extract.h5")
        shutil.copy(os.path.join(work, "extract.h5"), os.path.join(work, "dedup.h5"))
        run("dedup", "--input", "dedup.h5", "--threshold", "0.5")
        corpus = os.path.join(HERE, "corpus", "run_file")
        for name in ("extract.h5", "dedup.h5"):
            small_chunks(os.path.join(work, name), os.path.join(corpus, name))
        damaged(os.path.join(corpus, "extract.h5"), os.path.join(HERE, "hangs", "run_file"))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
