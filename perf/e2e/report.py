#!/usr/bin/python3
"""The table of perf/e2e/bench_e2e.sh: img/s per side and rank count, median (min-max)
over the timed runs (the warm-up is left out), ratio of medians, and the agreement of the
two sides' embeddings on the last run's files (same keys, cosine similarity)."""
import argparse
import json
import statistics

import numpy as np


def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt(s):
    return f"{s[0]:7.1f} ({s[1]:.1f}-{s[2]:.1f})"


def agreement(pm_h5, py_h5):
    import h5py
    with h5py.File(pm_h5, "r") as f:
        keys = f["/images/key"][()]
        lens = f["/images/key_length"][()]
        pm_keys = [bytes(k[:n]).decode() for k, n in zip(keys, lens)]
        pm_emb = f["/images/embedding"][()]
        pm_ok = f["/images/status"][()] == 0
    with h5py.File(py_h5, "r") as f:
        py_keys = [k.decode() if isinstance(k, bytes) else k for k in f["/images/key"][()]]
        py_emb = f["/images/embedding"][()]
        py_ok = f["/images/ok"][()]
    py_row = {k: i for i, k in enumerate(py_keys)}
    cos, names = [], []
    for i, k in enumerate(pm_keys):
        j = py_row.get(k)
        if j is None or not pm_ok[i] or not py_ok[j]:
            continue
        a, b = pm_emb[i], py_emb[j]
        cos.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
        names.append(k)
    return len(pm_keys), len(py_keys), np.array(cos), names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--pixelmill-h5")
    ap.add_argument("--python-h5")
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--bind", default="?")
    ap.add_argument("--pixelmill", default="?")
    a = ap.parse_args()

    rows = {}  # (side, n) -> {"wall": [...], "own": [...], "records": set}
    meta = {}
    with open(a.results) as f:
        for line in f:
            side, n, tag, secs, mpath = line.rstrip("\n").split("\t")
            with open(mpath) as m:
                mj = json.load(m)
            meta[side] = mj
            if tag == "warmup":
                continue
            r = rows.setdefault((side, int(n)), {"wall": [], "own": [], "records": set()})
            r["records"].add(mj["records"])
            r["wall"].append(mj["records"] / float(secs))
            r["own"].append(mj["images_per_second"])

    print(f"perf/e2e: {a.images} images, batch 16, 1 thread per rank/process "
          f"(pixelmill --threads 1 --decode-threads 1, mpirun --bind-to {a.bind}; "
          f"ORT intra_op_num_threads 1, OpenCV setNumThreads(1))")
    pm = meta.get("pixelmill", {})
    py = meta.get("python", {})
    print(f"  pixelmill: {a.pixelmill}; peer: Python + OpenCV {py.get('opencv', '?')} + "
          f"ONNX Runtime {py.get('onnxruntime', '?')}")
    print(f"  load average before {a.load_before}, after {a.load_after}")
    print("img/s, median (min-max) of the timed runs; 'cmd' = records / wall time of the "
          "whole command, 'own' = each side's own wall figure")
    print(f"{'N':>2} {'runs':>4} | {'pixelmill cmd':>22} {'python cmd':>22} {'ratio':>6} | "
          f"{'pixelmill own':>22} {'python own':>22} {'ratio':>6}")
    for n in sorted({n for _, n in rows}):
        p, q = rows.get(("pixelmill", n)), rows.get(("python", n))
        if not p or not q:
            continue
        pw, qw, po, qo = stats(p["wall"]), stats(q["wall"]), stats(p["own"]), stats(q["own"])
        print(f"{n:>2} {len(p['wall']):>4} | {fmt(pw):>22} {fmt(qw):>22} {pw[0] / qw[0]:6.2f} | "
              f"{fmt(po):>22} {fmt(qo):>22} {po[0] / qo[0]:6.2f}")
        if p["records"] != {a.images} or q["records"] != {a.images}:
            print(f"   warning: records pixelmill {sorted(p['records'])}, "
                  f"python {sorted(q['records'])}, expected {a.images}")
    if pm:
        print(f"  pixelmill last run: ok {pm.get('ok')}, errors {pm.get('errors')}, "
              f"stage thread-seconds {json.dumps(pm.get('stage_thread_seconds'))}")
    if a.pixelmill_h5 and a.python_h5:
        npm, npy, cos, names = agreement(a.pixelmill_h5, a.python_h5)
        if len(cos):
            print(f"  agreement (last run): {len(cos)} of {npm} pixelmill / {npy} python rows "
                  f"matched by key; cosine min {cos.min():.4f}, median {np.median(cos):.4f}, "
                  f"mean {cos.mean():.4f}; {int((cos < 0.99).sum())} below 0.99")
            worst = sorted(set(n.split("/", 1)[-1] for c, n in zip(cos, names) if c < 0.99))
            if worst:
                print(f"    below 0.99: {', '.join(worst[:8])}")
        else:
            print("  agreement: no rows matched by key")


if __name__ == "__main__":
    main()
