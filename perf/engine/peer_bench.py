#!/usr/bin/python3
"""Throughput of one peer on one model: ONNX Runtime (fp32; `ort-spin` with ORT's default
of spinning intra-op threads, `ort` without) or OpenCV DNN 4.6.

  peer_bench.py --peer ort|ort-spin|opencv --model M.onnx --batch 16 --threads T
                [--runs 5] [--warmup 2] [--side 224]

Feeds a seeded random float32 batch [B,3,S,S] (S from the model's input, or --side),
times --runs forward passes after --warmup untimed ones, and prints one JSON line:
{"peer", "model", "batch", "threads", "img_s": [per run], "median", "min", "max"}.
For OpenCV the model is first rewritten by ocv_compat.py (same math, a form OpenCV 4.6
imports). A peer that cannot run the model prints {"error": ...} and exits 3."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import pm_peers


def input_side(model):
    import onnx
    m = onnx.load(model, load_external_data=False)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    return dims[-1].dim_value or 224


def ort_runner(model, threads, spin=False):
    sess = pm_peers.ort_session(model, threads, spin)
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})


def opencv_runner(model, threads):
    import cv2
    import ocv_compat
    import onnx
    cv2.setNumThreads(threads)
    compat = os.path.splitext(model)[0] + ".opencv.onnx"
    if not os.path.exists(compat) or os.path.getmtime(compat) < os.path.getmtime(model):
        m = onnx.load(model)
        ocv_compat.rewrite(m)
        tmp = compat + f".tmp{os.getpid()}"
        onnx.save(m, tmp)
        os.replace(tmp, compat)
    net = cv2.dnn.readNetFromONNX(compat)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

    def run(x):
        net.setInput(x)
        return net.forward()
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=["ort", "ort-spin", "opencv"], required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--side", type=int, default=0)
    a = ap.parse_args()
    rec = {"peer": a.peer, "model": os.path.basename(a.model), "batch": a.batch,
           "threads": a.threads}
    side = a.side or input_side(a.model)
    x = np.random.default_rng(1).standard_normal((a.batch, 3, side, side), dtype=np.float32)
    try:
        if a.peer == "opencv":
            run = opencv_runner(a.model, a.threads)
        else:
            run = ort_runner(a.model, a.threads, spin=a.peer == "ort-spin")
        for _ in range(a.warmup):
            run(x)
        rates = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            run(x)
            rates.append(a.batch / (time.perf_counter() - t0))
    except Exception as e:  # a peer refusing a model is a result, not a crash
        rec["error"] = (str(e).strip().splitlines() or [type(e).__name__])[-1][:300]
        print(json.dumps(rec))
        return 3
    rec.update(img_s=[round(r, 3) for r in rates], median=statistics.median(rates),
               min=min(rates), max=max(rates))
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
