#!/usr/bin/python3
"""`slurm/pixelmill-extract.sbatch` on a real Slurm (run by CTest; one check per call).

sbatch_extract: the sbatch file, submitted with `sbatch --wait` as a user would (two tasks on
  the one node, srun launching the ranks through PMIx), writes the same rows as
  `mpirun -np 1 pixelmill extract` on the same photos, and its dedup groups.
sbatch_failure: a bad --input fails the job (non-zero exit seen by sbatch --wait), the
  job log names the problem, and no output file is left behind.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
ROOT = os.environ["PM_ROOT"]
DATA = os.environ["PM_EXTRACT_WORK"]  # the extract tests' fixture: photos/ and model/
MODEL = os.path.join(DATA, "model", "tiny_embed.onnx")
PHOTOS = os.path.join(DATA, "photos")
SBATCH = os.path.join(ROOT, "slurm", "pixelmill-extract.sbatch")


def fail(msg):
    sys.exit("FAIL: " + msg)


def submit(name, env_over):
    """sbatch --wait of the project's sbatch file on one node, two tasks of one CPU."""
    log = os.path.join(WORK, name + "-%j.log")
    cmd = ["sbatch", "--wait", "--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1",
           "--time=10", f"--output={log}", f"--job-name=pm-{name}", SBATCH]
    env = dict(os.environ, PIXELMILL=BIN, MODEL=MODEL, OMP_NUM_THREADS="1", **env_over)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=540)
    job = p.stdout.strip().split()[-1] if p.stdout.strip() else "?"
    path = log.replace("%j", job)
    text = open(path).read() if os.path.exists(path) else ""
    print(f"$ {' '.join(cmd)}\n-> exit {p.returncode}, job {job}\n--- job log ---\n{text}--- end ---")
    return p.returncode, text


def read(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        keys = [bytes(f["/images/key"][i][: lens[i]]) for i in range(n)]
        dedup = {k: f["/dedup/" + k][:] for k in ("group", "exact_group")} if "dedup" in f else None
        return keys, f["/images/status"][:], f["/images/embedding"][:], dedup


def sbatch_extract():
    out = os.path.join(WORK, "slurm.h5")
    ref = os.path.join(WORK, "ref.h5")
    p = subprocess.run([MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "1", BIN, "extract",
                        "--input", "dir:" + PHOTOS, "--model", MODEL, "--output", ref, "--threads", "1"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"reference run exited {p.returncode}: {p.stderr}")
    rc, log = submit("extract", {"INPUT": "dir:" + PHOTOS, "OUTPUT": out, "DEDUP": "1"})
    if rc != 0:
        fail(f"the job exited {rc}")
    if "on 2 rank(s)" not in log:
        fail("the job log does not show two ranks (did srun start one MPI job of 2 ranks?)")
    keys, status, emb, dedup = read(out)
    rkeys, rstatus, remb, _ = read(ref)
    if keys != rkeys:
        fail(f"keys differ: {len(keys)} rows from Slurm, {len(rkeys)} from mpirun")
    if not np.array_equal(status, rstatus):
        fail("statuses differ")
    if not np.allclose(emb, remb, rtol=1e-5, atol=1e-6):
        fail(f"embeddings differ: max |diff| {np.abs(emb - remb).max()}")
    if dedup is None or len(dedup["group"]) != len(keys):
        fail("no /dedup/group for every row (the sbatch asks for --dedup)")
    print(f"ok: {len(keys)} rows, {int((status == 0).sum())} ok, identical to mpirun -np 1; "
          f"{len(set(dedup['group'].tolist()))} dedup groups")


def sbatch_failure():
    out = os.path.join(WORK, "never.h5")
    missing = os.path.join(WORK, "no-such-dir")
    rc, log = submit("failure", {"INPUT": "dir:" + missing, "OUTPUT": out, "DEDUP": "0"})
    if rc == 0:
        fail("the job with a missing input directory exited 0")
    if missing not in log:
        fail("the job log does not name the missing directory")
    if os.path.exists(out):
        fail(f"{out} was written by a failed job")
    print(f"ok: job exited {rc} and named {missing}")


def main():
    if shutil.which("sbatch") is None:
        fail("sbatch not found: scripts/install-deps.sh installs Slurm (scripts/deps/slurm.txt)")
    if not os.path.exists(MODEL) or not os.path.isdir(PHOTOS):
        fail(f"the extract fixture is missing under {DATA}")
    os.makedirs(WORK, exist_ok=True)
    {"sbatch_extract": sbatch_extract, "sbatch_failure": sbatch_failure}[sys.argv[1]]()


if __name__ == "__main__":
    main()
