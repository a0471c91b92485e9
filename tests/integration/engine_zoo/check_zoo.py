#!/usr/bin/python3
"""Whole-network conformance: `pixelmill model run` against ONNX Runtime on one model of
the torchvision zoo (scripts/make-zoo.sh), the same .npy input for both.

Passes when every graph output has the same shape on both sides, cosine similarity
>= 0.9999 and max |engine - ORT| <= 1e-3 * max |ORT| (issue 3, "Done when"). Prints the
measured figures either way, so a failing family shows how far off it is.

  check_zoo.py --pixelmill BIN --zoo DIR --model NAME --work DIR [--threads T]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "perf", "engine"))
import pm_peers  # noqa: E402

COS_MIN = 0.9999
REL_ERR_MAX = 1e-3


def compare(name, ref, got):
    """Returns (ok, line) for one output."""
    if ref.shape != got.shape:
        return False, f"{name}: shape {list(got.shape)} != ORT {list(ref.shape)}"
    if not np.all(np.isfinite(got)):
        return False, f"{name}: {int(np.sum(~np.isfinite(got)))} non-finite values"
    r = ref.astype(np.float64).ravel()
    g = got.astype(np.float64).ravel()
    nr, ng = np.linalg.norm(r), np.linalg.norm(g)
    cos = float(r @ g / (nr * ng)) if nr > 0 and ng > 0 else float(nr == ng)
    scale = float(np.abs(r).max())
    err = float(np.abs(r - g).max())
    # Per-sample cosine, reported only: it shows a batch-indexing bug at a glance.
    b = ref.shape[0] if ref.ndim > 0 else 1
    rs, gs = r.reshape(b, -1), g.reshape(b, -1)
    nrs, ngs = np.linalg.norm(rs, axis=1), np.linalg.norm(gs, axis=1)
    den = nrs * ngs
    # A sample that is zero on one side only has cosine 0; zero on both sides counts as 1.
    per = np.where(den > 0, np.sum(rs * gs, axis=1) / np.where(den > 0, den, 1),
                   (nrs == ngs).astype(np.float64))
    ok = cos >= COS_MIN and err <= REL_ERR_MAX * scale
    line = (f"{name}: shape {list(ref.shape)} cosine {cos:.8f} (min per sample "
            f"{per.min():.8f}) max_abs_err {err:.3e} max|ORT| {scale:.3e} "
            f"rel {err / scale if scale else 0:.3e} -> {'ok' if ok else 'FAIL'}")
    return ok, line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixelmill", required=True)
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    # Export once into the build tree; idempotent and safe under ctest -j.
    subprocess.run([os.path.join(REPO, "scripts", "make-zoo.sh"), a.zoo, a.model], check=True)
    model = os.path.join(a.zoo, a.model + ".onnx")
    inp = os.path.join(a.zoo, a.model + ".input.npy")
    with open(os.path.join(a.zoo, a.model + ".json")) as f:
        meta = json.load(f)
    outs = [o["name"] for o in meta["outputs"]]
    os.makedirs(a.work, exist_ok=True)

    sess = pm_peers.ort_session(model, a.threads)
    x = pm_peers.load_npy(inp)
    refs = sess.run(outs, {sess.get_inputs()[0].name: x})

    got_paths = [os.path.join(a.work, f"{a.model}.{o}.pixelmill.npy") for o in outs]
    for p in got_paths:
        if os.path.exists(p):
            os.remove(p)
    cmd = [a.pixelmill, "model", "run", "--model", model, "--input", inp]
    for p in got_paths:
        cmd += ["--output", p]
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, env=env)
    if r.returncode != 0:
        print(f"{a.model}: pixelmill model run exited {r.returncode}")
        return 1

    all_ok = True
    for o, ref, p in zip(outs, refs, got_paths):
        if not os.path.exists(p):
            print(f"{a.model}/{o}: pixelmill wrote no {p}")
            all_ok = False
            continue
        ok, line = compare(f"{a.model}/{o}", ref, np.load(p, allow_pickle=False))
        print(line)
        all_ok &= ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
