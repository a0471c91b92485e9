#!/usr/bin/python3
"""One rank fails, the job ends: failure checks through the real binary under real mpirun.

Each check runs `pixelmill` at 2 ranks in a situation where one rank (or every rank) fails
and asserts that mpirun returns within TIMEOUT seconds (a hang is reported as "hung" and
every process of the run is killed), with a non-zero status and a clear message: the
failing rank named, no "terminate called", and no MPI_Abort for what is a bad flag or a
bad file (those are agreed errors: status 1 on every rank). One check per invocation
(CTest runs each with its own TIMEOUT).
"""
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import h5py

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
TINY = os.path.join(WORK, "model", "tiny_embed.onnx")
PHOTOS = os.path.join(WORK, "photos", "darknet")  # 7 real photos (extract.setup)
HERE = os.path.join(WORK, "failure")
TIMEOUT = 60  # seconds: every run here fails within a few seconds, or hangs


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def kill_run(tag):
    """SIGKILL every process of one run: mpirun and the ranks it started (which may not be
    in its process group), found by the tag in their environment."""
    needle = f"PM_FAILURE_RUN={tag}".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def rank_pids(tag):
    """{rank: pid} of the pixelmill processes of one run."""
    needle = f"PM_FAILURE_RUN={tag}".encode()
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                exe = os.path.basename(f.read().split(b"\0")[0])
        except OSError:
            continue
        if needle in env and exe == b"pixelmill":
            for v in env:
                if v.startswith(b"OMPI_COMM_WORLD_RANK="):
                    out[int(v.split(b"=")[1])] = int(pid)
    return out


def mpirun_cmd(args, np_=2, per_rank=None):
    """The mpirun command line. `per_rank`: shell words appended to the arguments inside
    each rank, where $OMPI_COMM_WORLD_RANK is that rank's number (one rank's file only)."""
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_)]
    if per_rank is None:
        return cmd + [BIN] + args
    return cmd + ["/bin/sh", "-c", f'exec "$0" "$@" {per_rank}', BIN] + args


def run(args, np_=2, per_rank=None):
    """Runs to the end or for TIMEOUT seconds; returns (status, stdout, stderr)."""
    tag = uuid.uuid4().hex
    env = dict(os.environ, OMP_NUM_THREADS="1", PM_FAILURE_RUN=tag)
    cmd = mpirun_cmd(args, np_, per_rank)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_run(tag)
        p.kill()
        out, err = p.communicate()
        fail(f"hung: no exit within {TIMEOUT} s: {' '.join(cmd)}\nstdout:\n{out}\nstderr:\n{err}")
    return p.returncode, out, err


def expect_agreed_error(args, words, per_rank=None, not_created=None):
    """A clean failure on every rank: status 1, one message holding every word of `words`,
    no abort, no crash, and (when given) the file `not_created` not written."""
    rc, out, err = run(args, per_rank=per_rank)
    where = f"{' '.join(args)} {per_rank or ''}\nexit {rc}\nstdout:\n{out}\nstderr:\n{err}"
    if rc != 1:
        fail(f"expected exit 1 (an agreed error), got {rc}: {where}")
    for bad in ("terminate called", "MPI_ABORT", "stoll", "unexpected error"):
        if bad in err:
            fail(f"'{bad}' in the output: {where}")
    lines = [l for l in err.splitlines() if "error:" in l]
    if len(lines) != 1:
        fail(f"expected one error line, got {len(lines)}: {where}")
    for w in words:
        if w not in lines[0]:
            fail(f"the message does not say '{w}': {where}")
    if not_created and os.path.exists(not_created):
        fail(f"{not_created} was written: the error came after the work, not before it: {where}")
    return lines[0]


def fresh_dir(name):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def good_run(d, dedup=True):
    """A complete 7-row run file (with /dedup), written at one rank."""
    path = os.path.join(d, "good.h5")
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "1", BIN, "extract",
           "--input", f"dir:{PHOTOS}", "--model", TINY, "--output", path, "--quiet"]
    if dedup:
        cmd.append("--dedup")
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                       timeout=300)
    if p.returncode != 0:
        fail(f"the reference run failed: {p.stderr}")
    return path


def metrics_json_unwritable():
    # The job file passes --metrics-json and --dedup by default. Rank 0 alone writes the
    # metrics: it used to fail there alone, after the extraction, while rank 1 went on
    # into dedup's collectives: a hang.
    d = fresh_dir("metrics")
    out = os.path.join(d, "run.h5")
    line = expect_agreed_error(
        ["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output", out, "--dedup",
         "--metrics-json", os.path.join(d, "no", "such", "dir", "m.json"), "--quiet"],
        ["--metrics-json", "does not exist"], not_created=out)
    print(f"PASS: {line}")


def dedup_bad_row_on_rank1():
    # A row in rank 1's share (rows 3..6 of 7 at 2 ranks) whose key_length runs past the
    # key width: rank 1 alone cannot read its share.
    d = fresh_dir("bad_row")
    path = good_run(d, dedup=False)
    with h5py.File(path, "r+") as f:
        width = f["/images/key"].shape[1]
        lengths = f["/images/key_length"]
        lengths[5] = width + 5
    line = expect_agreed_error(["dedup", "--input", path], ["rank 1", "row 5", "key_length"])
    if "rank 0" in line:
        fail(f"rank 0 read its share fine but is named: {line}")
    print(f"PASS: {line}")


def config_on_one_rank():
    # The same command line, but the --config file is there for rank 0 only (a node
    # without the shared directory): rank 1 used to fail alone and the job hung.
    d = fresh_dir("config")
    out = os.path.join(d, "run.h5")
    with open(os.path.join(d, "cfg.0"), "w") as f:
        f.write("batch = 2\nquiet = true\n")
    line = expect_agreed_error(
        ["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output", out],
        ["rank 1", "--config", os.path.join(d, "cfg.1")],
        per_rank=f'--config "{d}/cfg.$OMPI_COMM_WORLD_RANK"', not_created=out)
    print(f"PASS: {line}")


def output_dir_on_one_rank():
    # The output directory exists on rank 0's node only (a scratch path not mounted on
    # every node): rank 1 used to throw alone while rank 0 went on.
    d = fresh_dir("outdir")
    os.makedirs(os.path.join(d, "out.0"))
    line = expect_agreed_error(
        ["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--quiet"],
        ["rank 1", "--output directory", os.path.join(d, "out.1"), "does not exist"],
        per_rank=f'--output "{d}/out.$OMPI_COMM_WORLD_RANK/run.h5"')
    if os.path.exists(os.path.join(d, "out.0", "run.h5")):
        fail("rank 0 wrote its output although rank 1 could not")
    print(f"PASS: {line}")


def bad_flags():
    # Validated on every rank before any work, one message each, no crash, no abort.
    d = fresh_dir("flags")
    out = os.path.join(d, "run.h5")
    extract = ["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output", out, "--quiet"]
    cases = [
        # Used to be refused only by dedup, after the whole extraction had been written.
        (extract + ["--dedup", "--threshold", "2"], ["--threshold", "[-1, 1]", "not 2"]),
        # Used to end in "terminate called without an active exception".
        (extract + ["--decode-threads", "100000"], ["--decode-threads", "4096", "100000"]),
        (extract + ["--threads", "100000"], ["--threads", "4096", "100000"]),
        (extract + ["--batch", "100000"], ["--batch", "4096"]),
        (extract + ["--scanners", "100000"], ["--scanners", "256"]),
        (extract + ["--progress-seconds", "0"], ["--progress-seconds"]),
    ]
    for args, words in cases:
        line = expect_agreed_error(args, words, not_created=out)
        print(f"ok: {line}")
    run_file = good_run(d)
    html = os.path.join(d, "report.html")
    for args, words in [
        # Used to end in MPI_Abort ("vector::_M_default_append", status 3).
        (["report", "--input", run_file, "--out", html, "--max-groups", "-1"], ["--max-groups", "-1"]),
        (["report", "--input", run_file, "--out", html, "--max-members", "-1"], ["--max-members"]),
        (["report", "--input", run_file, "--out", html, "--thumb", "5"], ["--thumb", "16..1024"]),
    ]:
        line = expect_agreed_error(args, words, not_created=html)
        print(f"ok: {line}")
    for args, words in [
        (["dedup", "--input", run_file, "--threshold", "1.5"], ["--threshold", "[-1, 1]"]),
        (["dedup", "--input", run_file, "--block-rows", "0"], ["--block-rows"]),
        (["dedup", "--input", run_file, "--threads", "-1"], ["--threads"]),
        (["dedup", "--input", run_file, "--index", "hnsw"], ["--index", "exact or ivf"]),
        (["dedup", "--input", run_file, "--join-precision", "fp16"],
         ["--join-precision", "fp32 or bf16"]),
        (["dedup", "--input", run_file, "--index", "ivf", "--lists", "-3"], ["--lists"]),
        (["dedup", "--input", run_file, "--index", "ivf", "--probe", "0"], ["--probe", "1..64"]),
        (["dedup", "--input", run_file, "--index", "ivf", "--kmeans-iterations", "1001"],
         ["--kmeans-iterations"]),
    ]:
        line = expect_agreed_error(args, words)
        print(f"ok: {line}")
    # A .npy shape with a number too long for int64 used to say only 'stoll' (MPI_Abort).
    npy = os.path.join(d, "bad.npy")
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(npy, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    line = expect_agreed_error(["model", "run", "--model", TINY, "--input", npy, "--output",
                                os.path.join(d, "o.npy")],
                               ["bad.npy", "99999999999999999999999", "too many digits"])
    print(f"ok: {line}")
    print("PASS: every bad flag refused at start with one message")


def rank_killed():
    # kill -9 of one rank mid-run: mpirun must end the job (and return), not wait forever.
    d = fresh_dir("killed")
    photos = os.path.join(d, "photos")
    os.makedirs(photos)
    names = sorted(os.listdir(PHOTOS))
    for i in range(600):  # enough work for several seconds; hard links cost no space
        for n in names:
            os.link(os.path.join(PHOTOS, n), os.path.join(photos, f"{i:04d}_{n}"))
    tag = uuid.uuid4().hex
    env = dict(os.environ, OMP_NUM_THREADS="1", PM_FAILURE_RUN=tag)
    cmd = mpirun_cmd(["extract", "--input", f"dir:{photos}", "--model", TINY, "--output",
                      os.path.join(d, "run.h5"), "--batch", "1", "--threads", "1",
                      "--decode-threads", "1", "--progress-seconds", "0.2"])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    start = time.time()
    killed = None
    try:
        # Mid-run: once rank 0 reports progress (images done, more to go).
        for line in p.stderr:
            if "img/s" in line:
                pids = rank_pids(tag)
                if 1 in pids:
                    os.kill(pids[1], signal.SIGKILL)
                    killed = time.time()
                break
            if time.time() - start > TIMEOUT:
                break
        if killed is None:
            kill_run(tag)
            fail("could not kill rank 1 mid-run (the run ended or never reported progress)")
        rc = p.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_run(tag)
        fail(f"hung: mpirun did not return within {TIMEOUT} s of rank 1's death")
    rest = p.stderr.read()
    if rc == 0:
        fail(f"exit 0 although rank 1 was killed:\n{rest}")
    print(f"PASS: rank 1 killed; mpirun returned {rc} after {time.time() - killed:.1f} s")


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    globals()[sys.argv[1]]()
