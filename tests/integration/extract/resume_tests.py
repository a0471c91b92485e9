#!/usr/bin/python3
"""Stopping `pixelmill extract` with SIGTERM and continuing it with `--resume`
(run by CTest after extract.setup; one check per invocation).

The run under test is real: mpirun with two ranks over a few hundred generated images.
The signal is sent once the progress output shows work done, never after a fixed wait;
a run that finishes before the signal arrives is retried with more images, and the
check fails if it never can be stopped part way.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import cv2
import h5py
import numpy as np

from extract_tests import BIN, MPIEXEC, TINY, WORK, read, run

EXIT_STOPPED = 75


def make_images(folder, count):
    """`count` deterministic JPEGs (gradients plus seeded noise), 960x720: large enough
    that decoding keeps a two-rank run busy for a few seconds."""
    if os.path.isdir(folder) and len(os.listdir(folder)) == count:
        return
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    rng = np.random.default_rng(1234)
    yy, xx = np.mgrid[0:720, 0:960]
    for i in range(count):
        base = np.stack([(xx * (i % 7 + 1)) % 256, (yy * (i % 5 + 1)) % 256,
                         ((xx + yy) * (i % 3 + 1)) % 256], axis=-1).astype(np.int16)
        noise = rng.integers(-40, 40, size=base.shape, dtype=np.int16)
        img = np.clip(base + noise, 0, 255).astype(np.uint8)
        cv2.imwrite(os.path.join(folder, f"img{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def extract_cmd(folder, out, extra=()):
    return [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "2", BIN, "extract",
            "--input", f"dir:{folder}", "--model", TINY, "--output", out, "--batch", "1",
            "--threads", "1", "--decode-threads", "1", "--progress-seconds", "0.2", *extra]


def rank_pids(parent):
    """The pixelmill processes started by mpirun `parent` (its children, any depth)."""
    kids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [parent]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            todo.append(c)
            try:
                with open(f"/proc/{c}/cmdline", "rb") as f:
                    if os.path.basename(f.read().split(b"\0")[0]) == b"pixelmill":
                        out.append(c)
            except OSError:
                pass
    return out


def stopped_run(folder, out, total, ranks_signalled=2):
    """Starts the run, sends SIGTERM to its ranks (or to the first `ranks_signalled` of
    them: the others must learn of the stop from it) once a fifth of the images are done.
    Returns (exit code, output), or None if the run ended before it could be signalled."""
    e = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen(extract_cmd(folder, out), stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=e)
    err = []
    signalled = False
    for line in p.stderr:
        err.append(line)
        m = re.search(r"extract: (\d+)/(\d+)", line)
        if not signalled and m and int(m.group(1)) >= total // 5:
            pids = rank_pids(p.pid)
            if len(pids) == 2:
                # Slurm signals every task of the step; here the ranks are signalled
                # directly the same way (mpirun itself answers SIGTERM by killing them).
                for pid in sorted(pids)[:ranks_signalled]:
                    os.kill(pid, signal.SIGTERM)
                signalled = True
    p.wait()
    out_text = p.stdout.read()
    text = "".join(err) + out_text
    if not signalled:
        return None
    return p.returncode, text


def same_rows(a, b, what):
    assert a["keys"] == b["keys"], f"{what}: keys differ ({len(a['keys'])} vs {len(b['keys'])} rows)"
    assert (a["status"] == b["status"]).all(), f"{what}: statuses differ"
    assert a["error"] == b["error"], f"{what}: error messages differ"
    assert (a["hash"] == b["hash"]).all(), f"{what}: content hashes differ"
    diff = float(np.abs(a["embedding"] - b["embedding"]).max()) if len(a["keys"]) else 0.0
    assert diff <= 1e-5, f"{what}: embeddings differ by {diff}"
    return diff


def sigterm_then_resume():
    folder = os.path.join(WORK, "many")
    partial = os.path.join(WORK, "stopped.h5")
    count = 600
    for attempt in range(4):
        make_images(folder, count)
        if os.path.exists(partial):
            os.remove(partial)
        got = stopped_run(folder, partial, count)
        if got is not None:
            break
        print(f"run of {count} images ended before the signal; retrying with more")
        count *= 2
    else:
        sys.exit("FAIL: the run always finished before it could be signalled")
    rc, text = got
    assert rc == EXIT_STOPPED, f"stopped run exited {rc}, expected {EXIT_STOPPED}\n{text}"
    assert "--resume" in text, f"the message does not name --resume:\n{text}"
    with h5py.File(partial, "r") as f:
        attrs = dict(f.attrs)
        done = f["/progress/split_done"][:]
        split_rows = f["/progress/split_rows"][:]
        rows = f["/images/status"].shape[0]
    assert attrs["complete"] == 0, f"partial file says complete={attrs['complete']}"
    assert 0 < done.sum() < len(done), f"expected some but not all splits done: {done}"
    assert rows == split_rows.sum() and 0 < rows < count, f"{rows} rows of {count}"
    print(f"stopped: {int(done.sum())} of {len(done)} splits, {rows} of {count} rows")

    # The same run uninterrupted, for comparison (same images, same plan).
    full = os.path.join(WORK, "uninterrupted.h5")
    p = subprocess.run(extract_cmd(folder, full, ["--quiet"]), capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr

    # A fresh run must not overwrite the partial file.
    p = subprocess.run(extract_cmd(folder, partial, ["--quiet"]), capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode not in (0, EXIT_STOPPED) and "--resume" in p.stderr, \
        f"a run without --resume over a partial file: exit {p.returncode}\n{p.stderr}"
    with h5py.File(partial, "r") as f:
        assert f.attrs["complete"] == 0 and f["/images/status"].shape[0] == rows, "partial file changed"

    p = subprocess.run(extract_cmd(folder, partial, ["--resume"]), capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, f"--resume exited {p.returncode}\n{p.stderr}"
    assert not os.path.exists(partial + ".resume-tmp"), "temporary file left behind"
    a, b = read(partial), read(full)
    assert a["attrs"]["complete"] == 1, "resumed file is not complete"
    diff = same_rows(a, b, "resumed vs uninterrupted")
    with h5py.File(partial, "r") as f:
        assert f["/progress/split_done"][:].all()
        for col in ("phash", "width", "height", "timestamp"):
            with h5py.File(full, "r") as g:
                assert (f["/images/" + col][:] == g["/images/" + col][:]).all(), f"{col} differs"

    # --resume on a complete file: nothing redone, exit 0, file untouched.
    before = os.stat(partial).st_mtime_ns
    p = subprocess.run(extract_cmd(folder, partial, ["--resume"]), capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0 and "already complete" in p.stderr, f"exit {p.returncode}\n{p.stderr}"
    assert os.stat(partial).st_mtime_ns == before, "a complete file was rewritten"
    print(f"PASS: SIGTERM -> exit {EXIT_STOPPED}, complete=0; --resume -> {len(a['keys'])} rows equal "
          f"to an uninterrupted run (max diff {diff:g})")


def resume_mismatch():
    folder = os.path.join(WORK, "many")
    other = os.path.join(WORK, "other")
    partial = os.path.join(WORK, "mismatch.h5")
    make_images(folder, 600)
    make_images(other, 40)
    got = None
    for _ in range(3):
        if os.path.exists(partial):
            os.remove(partial)
        # One rank only: the other must stop too, or this run would not exit 75
        # with some splits missing.
        got = stopped_run(folder, partial, 600, ranks_signalled=1)
        if got is not None:
            break
    assert got is not None and got[0] == EXIT_STOPPED, f"could not stop a run part way: {got}"
    assert "another rank asked to stop" in got[1], f"the unsignalled rank did not report the stop:\n{got[1]}"
    with open(partial, "rb") as f:
        saved = f.read()
    cases = [  # (flags replaced, flags added, the word the error names)
        ({"--input": f"dir:{other}"}, [], "input"),
        ({}, ["--max-key-bytes", "100"], "--max-key-bytes"),  # which keys are stored
    ]
    for replace, extra, word in cases:
        cmd = extract_cmd(folder, partial, ["--resume"] + extra)
        for flag, value in replace.items():
            cmd[cmd.index(flag) + 1] = value
        p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert p.returncode not in (0, EXIT_STOPPED), f"mismatched --resume exited {p.returncode}"
        assert "different run" in p.stderr and word in p.stderr, f"unclear error:\n{p.stderr}"
        with open(partial, "rb") as f:
            assert f.read() == saved, "the partial file changed after a refused --resume"
        assert not os.path.exists(partial + ".resume-tmp")
    # A file that is not an HDF5 output: clear error, left alone.
    junk = os.path.join(WORK, "junk.h5")
    with open(junk, "w") as f:
        f.write("not hdf5\n")
    p = subprocess.run(extract_cmd(folder, junk, ["--resume"]), capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode not in (0, EXIT_STOPPED) and "left as it is" in p.stderr, p.stderr
    with open(junk) as f:
        assert f.read() == "not hdf5\n"
    # A missing file with --resume starts afresh.
    fresh = os.path.join(WORK, "fresh.h5")
    if os.path.exists(fresh):
        os.remove(fresh)
    p = subprocess.run(extract_cmd(other, fresh, ["--resume"]), capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0 and "starting from the beginning" in p.stderr, p.stderr
    with h5py.File(fresh, "r") as f:
        assert f.attrs["complete"] == 1 and f["/images/status"].shape[0] == 40
    print("PASS: mismatched --resume refused with the partial file intact; junk refused; "
          "missing file starts afresh")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
