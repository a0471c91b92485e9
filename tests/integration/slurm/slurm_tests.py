#!/usr/bin/python3
"""`slurm/pixelmill-extract.sbatch` on a real Slurm (run by CTest; one check per call).

sbatch_extract: the sbatch file, submitted with `sbatch --wait` as a user would (two tasks on
  the one node, srun launching the ranks through PMIx), writes the same rows as
  `mpirun -np 1 pixelmill extract` on the same photos, and its dedup groups.
sbatch_failure: a bad --input fails the job (non-zero exit seen by sbatch --wait), the
  job log names the problem, and no output file is left behind.
sbatch_preempt_resume: `scancel --signal=TERM` (what Slurm does before a time limit or on
  preemption) stops a running job part way: exit 75, the file marked incomplete; the same
  sbatch submitted again continues it (`--resume` is in the job file) to the rows of an
  uninterrupted run.
sbatch_sigkill_resume: `scancel --signal=KILL` of the running step (as an OOM kill or a lost
  node would end it) once the file shows a checkpoint round; the job file submitted again
  reads only the records the file did not hold and completes it to an uninterrupted run.
"""
import os
import re
import shutil
import subprocess
import sys
import time

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


def sbatch_cmd(name, wait=True):
    """sbatch of the project's sbatch file on one node, two tasks of one CPU."""
    log = os.path.join(WORK, name + "-%j.log")
    return log, ["sbatch", "--wait" if wait else "--parsable", "--nodes=1", "--ntasks-per-node=2",
                 "--cpus-per-task=1", "--time=10", f"--output={log}", f"--job-name=pm-{name}", SBATCH]


def job_env(model, env_over):
    return dict(os.environ, PIXELMILL=BIN, MODEL=model, OMP_NUM_THREADS="1", **env_over)


def submit(name, env_over, model=MODEL):
    """sbatch --wait; returns the job's exit code and its log."""
    log, cmd = sbatch_cmd(name)
    env = job_env(model, env_over)
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


def remove(*paths):
    for p in paths:
        if os.path.exists(p):
            os.remove(p)


def sbatch_extract():
    out = os.path.join(WORK, "slurm.h5")
    ref = os.path.join(WORK, "ref.h5")
    remove(out, ref)  # the job file passes --resume: a complete file would be left as it is
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
    remove(out)
    missing = os.path.join(WORK, "no-such-dir")
    rc, log = submit("failure", {"INPUT": "dir:" + missing, "OUTPUT": out, "DEDUP": "0"})
    if rc == 0:
        fail("the job with a missing input directory exited 0")
    if missing not in log:
        fail("the job log does not name the missing directory")
    if os.path.exists(out):
        fail(f"{out} was written by a failed job")
    print(f"ok: job exited {rc} and named {missing}")


EXIT_STOPPED = 75


def job_state(job):
    """(state, exit code) from scontrol while Slurm remembers the job (MinJobAge)."""
    p = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True)
    state = re.search(r"JobState=(\S+)", p.stdout)
    code = re.search(r"ExitCode=(\d+):", p.stdout)
    return (state.group(1) if state else "GONE"), (int(code.group(1)) if code else None)


def stopped_job(folder, out, total):
    """Submits the job, sends it SIGTERM with scancel once its log shows a fifth of the
    images done. Returns (exit code, log), or None when it ended before the signal."""
    log_pat, cmd = sbatch_cmd("preempt", wait=False)
    env = job_env(MODEL,
                  {"INPUT": "dir:" + folder, "OUTPUT": out, "DEDUP": "0", "PROGRESS": "0.2",
                   "EXTRA": "--batch 1 --decode-threads 1"})
    job = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.strip().split(";")[0]
    log = log_pat.replace("%j", job)
    signalled = False
    deadline = time.time() + 300
    while time.time() < deadline:
        state, code = job_state(job)
        text = open(log).read() if os.path.exists(log) else ""
        if state not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING"):
            print(f"job {job}: {state}, exit {code}\n--- job log ---\n{text}--- end ---")
            return (code, text) if signalled else None
        done = [int(m) for m in re.findall(r"extract: (\d+)/\d+", text)]
        if not signalled and done and done[-1] >= total // 5:
            # Without --full, scancel signals the job's steps (srun and its tasks), not the
            # batch shell: what Slurm does ahead of the time limit (--signal=TERM@300).
            subprocess.run(["scancel", "--signal=TERM", job], check=True)
            signalled = True
        time.sleep(0.2)
    fail(f"job {job} did not end within 300 s")


def sbatch_preempt_resume():
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "extract"))
    from resume_tests import make_images  # noqa: E402  (the resume tests' generated photos)
    folder = os.path.join(WORK, "many")
    out = os.path.join(WORK, "preempt.h5")
    ref = os.path.join(WORK, "preempt-ref.h5")
    count = 600
    for _ in range(4):
        make_images(folder, count)
        remove(out, ref)
        got = stopped_job(folder, out, count)
        if got is not None:
            break
        print(f"the job of {count} images ended before the signal; again with more")
        count *= 2
    else:
        fail("the job always finished before it could be signalled")
    rc, log = got
    if rc != EXIT_STOPPED:
        fail(f"the signalled job exited {rc}, expected {EXIT_STOPPED}")
    if "--resume" not in log:
        fail("the job log does not say to rerun with --resume")
    with h5py.File(out, "r") as f:
        complete, rows = int(f.attrs["complete"]), f["/images/status"].shape[0]
    if complete != 0 or not 0 < rows < count:
        fail(f"after the signal: complete={complete}, {rows} of {count} rows")
    # The job file again, unchanged: its --resume continues the file.
    rc, log = submit("resumed", {"INPUT": "dir:" + folder, "OUTPUT": out, "DEDUP": "0",
                                 "EXTRA": "--batch 1 --decode-threads 1"})
    if rc != 0:
        fail(f"the resubmitted job exited {rc}")
    p = subprocess.run([MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "2", BIN, "extract",
                        "--input", "dir:" + folder, "--model", MODEL, "--output", ref, "--threads", "1",
                        "--batch", "1", "--decode-threads", "1", "--quiet"],
                       capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if p.returncode != 0:
        fail(f"the uninterrupted run exited {p.returncode}: {p.stderr}")
    keys, status, emb, _ = read(out)
    rkeys, rstatus, remb, _ = read(ref)
    with h5py.File(out, "r") as f:
        complete = int(f.attrs["complete"])
    if complete != 1 or keys != rkeys or not np.array_equal(status, rstatus):
        fail(f"resumed file: complete={complete}, {len(keys)} rows vs {len(rkeys)} uninterrupted")
    if not np.allclose(emb, remb, rtol=1e-5, atol=1e-6):
        fail(f"embeddings differ: max |diff| {np.abs(emb - remb).max()}")
    print(f"ok: SIGTERM stopped the job at {rows} of {count} rows (exit 75); the resubmitted job "
          f"completed it, equal to an uninterrupted run")


def killed_job(folder, out):
    """Submits the job with checkpoint rounds every 0.3 s and SIGKILLs its step (every task:
    what an OOM kill of the step or a node failure amounts to) once the output file shows a
    published round. Returns (splits in the file, log), or None when it ended first: before
    the kill was sent, or before it reached the tasks (a fast machine can finish the last
    splits between the poll that saw them missing and the signal)."""
    log_pat, cmd = sbatch_cmd("killed", wait=False)
    env = job_env(MODEL, {"INPUT": "dir:" + folder, "OUTPUT": out, "DEDUP": "0", "PROGRESS": "0.5",
                          "EXTRA": "--batch 1 --decode-threads 1 --checkpoint-seconds 0.3"})
    job = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.strip().split(";")[0]
    log = log_pat.replace("%j", job)
    killed = None
    deadline = time.time() + 300
    while time.time() < deadline:
        state, code = job_state(job)
        text = open(log).read() if os.path.exists(log) else ""
        if state not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING"):
            print(f"job {job}: {state}, exit {code}\n--- job log ---\n{text}--- end ---")
            if killed is not None and os.path.exists(out):
                with h5py.File(out, "r") as f:
                    if int(f.attrs.get("complete", 0)) == 1:
                        print("the job completed its file before the kill reached it")
                        return None
            return (killed, text) if killed is not None else None
        if killed is None and os.path.exists(out):
            try:
                with h5py.File(out, "r") as f:
                    rounds = int(f.attrs.get("rounds", 0))
                    done = int(f["/progress/split_done"][:].sum())
                    planned = f["/progress/split_done"].shape[0]
            except (OSError, KeyError):
                rounds = done = planned = 0
            if rounds >= 2 and 0 < done < planned:
                subprocess.run(["scancel", "--signal=KILL", job], check=True)
                killed = done
        time.sleep(0.1)
    fail(f"job {job} did not end within 300 s")


def sbatch_sigkill_resume():
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "extract"))
    from resume_tests import make_images  # noqa: E402  (the resume tests' generated photos)
    folder = os.path.join(WORK, "many")
    out = os.path.join(WORK, "killed.h5")
    ref = os.path.join(WORK, "killed-ref.h5")
    count = 600
    for _ in range(4):
        make_images(folder, count)
        remove(out, ref)
        got = killed_job(folder, out)
        if got is not None:
            break
        print(f"the job of {count} images ended before the kill; again with more")
        count *= 2
    else:
        fail("the job always finished before it could be killed")
    done, log = got
    with h5py.File(out, "r") as f:
        complete, after = int(f.attrs["complete"]), int(f["/progress/split_done"][:].sum())
        kept = int(f.attrs["staged_rows"])
    if complete != 0 or after < done:
        fail(f"after SIGKILL: complete={complete}, {after} splits in the file, {done} seen before")
    # The job file again, unchanged: its --resume continues from the last round.
    rc, log = submit("after-kill", {"INPUT": "dir:" + folder, "OUTPUT": out, "DEDUP": "0",
                                    "EXTRA": "--batch 1 --decode-threads 1"})
    if rc != 0:
        fail(f"the resubmitted job exited {rc}")
    m = re.search(r"(\d+) records in", log)
    if not m or int(m.group(1)) != count - kept:
        fail(f"the resubmitted job read {m.group(1) if m else '?'} records; {count - kept} were missing")
    p = subprocess.run([MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "1", BIN, "extract",
                        "--input", "dir:" + folder, "--model", MODEL, "--output", ref, "--threads", "1",
                        "--quiet"], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if p.returncode != 0:
        fail(f"the uninterrupted run exited {p.returncode}: {p.stderr}")
    keys, status, emb, _ = read(out)
    rkeys, rstatus, remb, _ = read(ref)
    with h5py.File(out, "r") as f:
        complete = int(f.attrs["complete"])
    if complete != 1 or keys != rkeys or not np.array_equal(status, rstatus):
        fail(f"resumed file: complete={complete}, {len(keys)} rows vs {len(rkeys)} uninterrupted")
    if not np.allclose(emb, remb, rtol=1e-5, atol=1e-6):
        fail(f"embeddings differ: max |diff| {np.abs(emb - remb).max()}")
    print(f"ok: SIGKILL of the step with {after} splits ({kept} of {count} rows) in the file; the "
          f"resubmitted job read the other {count - kept} records, equal to an uninterrupted run")


def main():
    if shutil.which("sbatch") is None:
        fail("sbatch not found: scripts/install-deps.sh installs Slurm (scripts/deps/slurm.txt)")
    if not os.path.exists(MODEL) or not os.path.isdir(PHOTOS):
        fail(f"the extract fixture is missing under {DATA}")
    os.makedirs(WORK, exist_ok=True)
    {"sbatch_extract": sbatch_extract, "sbatch_failure": sbatch_failure,
     "sbatch_preempt_resume": sbatch_preempt_resume,
     "sbatch_sigkill_resume": sbatch_sigkill_resume}[sys.argv[1]]()


if __name__ == "__main__":
    main()
