#!/usr/bin/python3
"""int8 on the engine against ONNX Runtime (issue 14 item 4), same run, same files:

  pixelmill --precision int8 on a QDQ file  vs  ONNX Runtime on the same QDQ file (its int8
  kernels) and ONNX Runtime fp32 on the fp32 file; pixelmill fp32 on the fp32 file for
  reference. ORT is timed without and with its spinning threads, and the faster counts.
  The QDQ file is make_qdq.py's (ORT's quantize_static layout, calibrated on the
  zoo input). Per model and thread count: img/s median [min, max] of --runs after warm-up,
  the load average before each figure, the ratios, and the int8 output's cosine to ORT fp32.

  perf/engine/bench_int8.py --pixelmill BIN [--zoo DIR] [--models resnet50,mobilenet_v2]
                            [--threads 1,2] [--batch 16] [--runs 5] [--warmup 2]
                            [--baseline OLD_BIN]
--baseline: another pixelmill binary (a build of the commit before a change) timed in int8
right before BIN each time, so that before and after come from the same minutes of the
same run; adds the columns "baseline int8" and "int8 / baseline".
Never run by the test suite; run it when the machine is quiet (check `uptime`).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import pm_peers  # noqa: E402

bench.PRECISION_FLAGS["int8"] = ["--precision", "int8"]


def int8_cosine(pm, qdq, fp32, inp):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "int8.npy")
        subprocess.run([pm, "model", "run", "--model", qdq, "--input", inp, "--output", out, "--precision", "int8"],
                       check=True, capture_output=True)
        got = np.load(out)
    x = np.load(inp)
    ref = pm_peers.ort_session(fp32, 1)
    want = ref.run(None, {ref.get_inputs()[0].name: x})[0]
    ort_q = pm_peers.ort_session(qdq, 1)
    theirs = ort_q.run(None, {ort_q.get_inputs()[0].name: x})[0]
    return bench.cosine(got, want), bench.cosine(theirs, want), bench.cosine(got, theirs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixelmill", required=True)
    ap.add_argument("--zoo", default=os.environ.get("PM_ZOO_DIR", os.path.join(REPO, "perf", "zoo")))
    ap.add_argument("--models", default="resnet50,mobilenet_v2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--baseline", help="a second pixelmill binary, timed in int8 before --pixelmill")
    a = ap.parse_args()
    os.makedirs(a.zoo, exist_ok=True)
    print(f"# pixelmill int8 vs ONNX Runtime {pm_peers.ORT_VERSION}  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  "
          f"batch {a.batch}, median of {a.runs} [min, max] after {a.warmup} warm-up, load before each figure")
    rows = []
    for m in [x for x in a.models.split(",") if x]:
        subprocess.run([os.path.join(REPO, "scripts", "make-zoo.sh"), a.zoo, m], check=True, stdout=subprocess.DEVNULL)
        fp32 = os.path.join(a.zoo, m + ".onnx")
        inp = os.path.join(a.zoo, m + ".input.npy")
        qdq = os.path.join(a.zoo, m + ".qdq.onnx")
        subprocess.run([sys.executable, os.path.join(HERE, "make_qdq.py"), fp32, inp, qdq], check=True)
        side = bench.peer_side(fp32)
        c_pm, c_ort, c_both = int8_cosine(a.pixelmill, qdq, fp32, inp)
        print(f"# {m}: output cosine to ORT fp32 (fp32 file): pixelmill int8 {c_pm:.5f}, ORT on the QDQ file "
              f"{c_ort:.5f}; pixelmill int8 to ORT QDQ {c_both:.5f}", flush=True)
        for t in [int(x) for x in a.threads.split(",") if x]:
            figs = {}
            runs = [("pixelmill int8", a.pixelmill, qdq, "int8"), ("pixelmill fp32", a.pixelmill, fp32, "fp32")]
            if a.baseline:
                runs.insert(0, ("baseline int8", a.baseline, qdq, "int8"))
            for name, binary, path, prec in runs:
                ld = bench.load1()
                s, line = bench.pixelmill_bench(binary, path, a.batch, t, prec, side, a.runs, a.warmup)
                figs[name] = (s, ld)
                print(f"  {m} t{t} {name}: {bench.fmt(s)} img/s load {ld:.2f} ({line.strip()[:100]})", flush=True)
            for name, path in (("ORT int8 (QDQ)", qdq), ("ORT fp32", fp32)):
                # ORT's best of its two modes (no spinning, and its default spinning threads).
                best = None
                for peer in ("ort", "ort-spin"):
                    ld = bench.load1()
                    s, err = bench.peer_bench(peer, path, a.batch, t, a.runs, a.warmup)
                    print(f"  {m} t{t} {name} {peer}: {bench.fmt(s)} img/s load {ld:.2f} {err}", flush=True)
                    if s and (best is None or s["median"] > best[0]["median"]):
                        best = (s, ld)
                figs[name] = best or (None, bench.load1())
            rows.append((m, t, figs))
    print()
    extra = " baseline int8 | int8 / baseline |" if a.baseline else ""
    print("| model | threads | pixelmill int8 | pixelmill fp32 | ORT int8 (same QDQ file) | ORT fp32 | "
          "int8 / ORT fp32 | int8 / ORT int8 | int8 / pixelmill fp32 |" + extra)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if a.baseline else ""))

    def cell(f):
        s, ld = f
        return f"{s['median']:.1f} [{s['min']:.1f}–{s['max']:.1f}] (load {ld:.2f})" if s else "n/a"

    def ratio(x, y):
        return f"{x[0]['median'] / y[0]['median']:.2f}" if x[0] and y[0] else "n/a"
    for m, t, f in rows:
        i8, p32, oi8, o32 = f["pixelmill int8"], f["pixelmill fp32"], f["ORT int8 (QDQ)"], f["ORT fp32"]
        tail = f" {cell(f['baseline int8'])} | {ratio(i8, f['baseline int8'])} |" if a.baseline else ""
        print(f"| {m} | {t} | {cell(i8)} | {cell(p32)} | {cell(oi8)} | {cell(o32)} | {ratio(i8, o32)} | "
              f"{ratio(i8, oi8)} | {ratio(i8, p32)} |" + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
