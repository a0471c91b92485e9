#!/usr/bin/python3
"""QDQ models on the engine: a zoo model (scripts/make-zoo.sh) made QDQ by
perf/engine/make_qdq.py (the
layout of ONNX Runtime's quantize_static), run by `pixelmill model run` in its default mode,
with --reference and with --precision int8 (every convolution and the classifier's Gemm
an int8 oneDNN kernel, checked in its --verbose log), and by ONNX Runtime on the same file
and input.

The engine runs Q/DQ as the ONNX spec writes them (float arithmetic on fake-quantised
tensors); ONNX Runtime fuses them into integer kernels whose requantisation rounds once
per layer, so a value may land one quantisation step away and the differences add up
through the network. Passes when, per output:
- engine default vs engine --reference: cosine >= 0.9999 (the same arithmetic, up to
  float summation order at a rounding boundary);
- engine (default and int8) vs ONNX Runtime on the QDQ file, and int8 vs --reference:
  cosine >= 0.999 (int8 quantises with x * (1/scale), the spec with x / scale: a value at a
  rounding boundary may land one step away, like ORT's);
- the QDQ output vs the fp32 model's (ONNX Runtime): cosine >= 0.98, so the file is a
  working quantisation of the network and not a degenerate one.

  check_qdq.py --pixelmill BIN --zoo DIR --model NAME --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "perf", "engine"))
import pm_peers  # noqa: E402


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixelmill", required=True)
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    subprocess.run([os.path.join(REPO, "scripts", "make-zoo.sh"), a.zoo, a.model], check=True)
    os.makedirs(a.work, exist_ok=True)
    fp32 = os.path.join(a.zoo, a.model + ".onnx")
    inp = os.path.join(a.zoo, a.model + ".input.npy")
    qdq = os.path.join(a.work, a.model + ".qdq.onnx")
    subprocess.run([sys.executable, os.path.join(REPO, "perf", "engine", "make_qdq.py"), fp32, inp, qdq], check=True)

    x = pm_peers.load_npy(inp)
    runs = {}
    for name, path in (("ort_fp32", fp32), ("ort_qdq", qdq)):
        sess = pm_peers.ort_session(path, 1)
        runs[name] = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    for mode, extra in (("engine", []), ("engine_reference", ["--reference"]),
                        ("engine_int8", ["--precision", "int8", "--verbose"])):
        out = os.path.join(a.work, f"{a.model}.qdq.{mode}.npy")
        if os.path.exists(out):
            os.remove(out)
        cmd = [a.pixelmill, "model", "run", "--model", qdq, "--input", inp, "--output", out] + extra
        print("+", " ".join(cmd), flush=True)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{a.model}: pixelmill model run {' '.join(extra)} exited {r.returncode}\n{r.stderr}")
            return 1
        runs[mode] = np.load(out, allow_pickle=False)
        if mode == "engine_int8":
            # Every QDQ Conv and Gemm/MatMul fused (pm.QConv, pm.QGemm) and run on oneDNN int8.
            for op, what in (("pm.QConv", "convolutions"), ("pm.QGemm", "Gemm/MatMul")):
                lines = [line for line in r.stderr.splitlines() if f"{op} node" in line and " -> " in line]
                int8 = sum(1 for line in lines if "-> dnnl:int8 " in line)
                print(f"{a.model}: {int8} of {len(lines)} fused QDQ {what} on oneDNN int8 kernels")
                if int8 == 0 or int8 != len(lines):
                    print(f"{a.model}: --precision int8 did not run every QDQ {what} in int8 -> FAIL")
                    return 1

    ok = True
    for (x_name, y_name, floor) in (("engine", "engine_reference", 0.9999), ("engine", "ort_qdq", 0.999),
                                    ("engine_reference", "ort_qdq", 0.999), ("engine_int8", "engine_reference", 0.999),
                                    ("engine_int8", "ort_qdq", 0.999), ("ort_qdq", "ort_fp32", 0.98)):
        xa, ya = runs[x_name], runs[y_name]
        if xa.shape != ya.shape:
            print(f"{a.model}: {x_name} shape {xa.shape} != {y_name} {ya.shape} -> FAIL")
            ok = False
            continue
        c = cosine(xa, ya)
        err = float(np.abs(xa - ya).max())
        good = np.all(np.isfinite(xa)) and c >= floor
        print(f"{a.model} QDQ: {x_name} vs {y_name}: cosine {c:.6f} (>= {floor}) max_abs_err {err:.3e} "
              f"max|{y_name}| {float(np.abs(ya).max()):.3e} -> {'ok' if good else 'FAIL'}")
        ok &= bool(good)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
