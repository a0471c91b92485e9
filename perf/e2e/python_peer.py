#!/usr/bin/python3
"""The end-to-end peer of `pixelmill extract`: the pipeline a user would write in Python.

OpenCV decode (cv2.imdecode, full size) + cv2.resize(INTER_AREA) to the model card's
input + ONNX Runtime (batch B, intra_op_num_threads 1), one process per core with
multiprocessing, embeddings written to one HDF5 file (h5py) or .npy. No reduced-size
decoding, hashing or error bookkeeping: the plain pipeline, which is the point of the peer.

Run with Debian's /usr/bin/python3 (python3-opencv 4.6, python3-h5py, python3-numpy) and
ONNX Runtime from scripts/deps/peers.sh on PYTHONPATH (perf/e2e/bench_e2e.sh does both).

Prints one line `python_peer: N images in S s (R img/s) ...`, and with --metrics-json
writes {"records", "wall_seconds", "images_per_second", "procs", ...}. wall_seconds runs
from the start of the script (after the interpreter has started) to the closed output
file, so that it covers what pixelmill's own wall time covers: reading the model, all
images, writing.
"""
import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}

_session = None
_card = None


def list_images(root):
    """Sorted relative paths of the image files below root (deterministic order)."""
    out = []
    for d, _, files in os.walk(root, followlinks=True):
        for f in files:
            if os.path.splitext(f)[1].lower() in IMAGE_EXT:
                out.append(os.path.relpath(os.path.join(d, f), root))
    out.sort()
    return out


def init_worker(model, card, threads):
    """One ORT session per process, single-threaded: one core per process."""
    global _session, _card
    cv2.setNumThreads(1)
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    _session = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
    _card = card


def load(path, h, w):
    """Decode + squash resize to the card's input, RGB uint8 HWC; None if undecodable."""
    data = np.fromfile(path, dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    img = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def run_chunk(job):
    """Embeds paths[lo:hi] in batches; returns (lo, embeddings [n, D], ok [n])."""
    root, paths, lo, batch = job
    inp = _card["input"]
    h, w = inp["height"], inp["width"]
    out_name = _card["embedding"]["output"]
    embs, ok = [], []
    for b in range(0, len(paths), batch):
        names = paths[b:b + batch]
        x = np.zeros((len(names), h, w, 3), dtype=np.uint8)
        good = np.zeros(len(names), dtype=bool)
        for i, p in enumerate(names):
            img = load(os.path.join(root, p), h, w)
            if img is not None:
                x[i] = img
                good[i] = True
        y = _session.run([out_name], {inp["name"]: x})[0]
        y[~good] = 0
        embs.append(y.astype(np.float32, copy=False))
        ok.append(good)
    return lo, np.concatenate(embs), np.concatenate(ok)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, help="directory of images (recursive)")
    ap.add_argument("--model", default="models/sscd_distilled.onnx")
    ap.add_argument("--output", required=True, help="RUN.h5 (h5py) or RUN.npy")
    ap.add_argument("--procs", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="ORT intra_op_num_threads")
    ap.add_argument("--metrics-json", default="")
    a = ap.parse_args()

    with open(os.path.splitext(a.model)[0] + ".json") as f:
        card = json.load(f)
    if card["input"]["layout"] != "NHWC" or card["input"]["dtype"] != "uint8" \
            or card["input"]["color"] != "RGB" or card["resize"] != "squash":
        sys.exit("python_peer: only uint8 NHWC RGB squash cards (like sscd_distilled)")
    paths = list_images(a.input)
    n = len(paths)
    if n == 0:
        sys.exit(f"python_peer: no images in {a.input}")
    # Contiguous equal shares, one per process, in batch multiples: what a user would do
    # with a Pool of N, and no more scheduling than pixelmill's static splits.
    per = -(-n // a.procs)
    per = -(-per // a.batch) * a.batch
    jobs = [(a.input, paths[lo:lo + per], lo, a.batch) for lo in range(0, n, per)]
    dim = card["embedding"]["dim"]
    emb = np.zeros((n, dim), dtype=np.float32)
    ok = np.zeros(n, dtype=bool)
    ctx = mp.get_context("fork")
    with ctx.Pool(a.procs, initializer=init_worker,
                  initargs=(a.model, card, a.threads)) as pool:
        for lo, e, g in pool.imap_unordered(run_chunk, jobs):
            emb[lo:lo + len(e)] = e
            ok[lo:lo + len(g)] = g

    if a.output.endswith(".npy"):
        np.save(a.output, emb)
    else:
        import h5py
        with h5py.File(a.output, "w") as f:
            f.create_dataset("/images/key", data=np.array(paths, dtype=object),
                             dtype=h5py.string_dtype())
            f.create_dataset("/images/embedding", data=emb)
            f.create_dataset("/images/ok", data=ok)
    wall = time.perf_counter() - T0
    m = {"records": n, "ok": int(ok.sum()), "wall_seconds": wall,
         "images_per_second": n / wall, "procs": a.procs, "batch": a.batch,
         "intra_op_num_threads": a.threads, "opencv": cv2.__version__}
    import onnxruntime
    m["onnxruntime"] = onnxruntime.__version__
    print(f"python_peer: {n} images in {wall:.2f} s ({n / wall:.1f} img/s), "
          f"{a.procs} process(es), ok {m['ok']}, ORT {m['onnxruntime']}, OpenCV {m['opencv']}")
    if a.metrics_json:
        with open(a.metrics_json, "w") as f:
            json.dump(m, f, indent=2)


if __name__ == "__main__":
    main()
