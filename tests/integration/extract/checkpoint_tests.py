#!/usr/bin/python3
"""Checkpoint rounds of `pixelmill extract` (run by CTest after extract.setup; one check
per invocation): the file written in rounds equals one written at the end; between
rounds it is a valid incomplete run; SIGKILL of one rank (mpirun then ends the job) or a
kill in the middle of a round loses at most the rounds not yet written, and --resume
completes the file to an uninterrupted run's rows.

The runs are real: mpirun with 2 or 3 ranks over generated images. Kills are sent once
the file shows a published round, never after a fixed wait.
"""
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from extract_tests import BIN, MPIEXEC, TINY, WORK, read
from resume_tests import make_images, rank_pids, same_rows

IMAGES = 400


def cmd(folder, out, ranks, extra=()):
    return [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(ranks), BIN, "extract",
            "--input", f"dir:{folder}", "--model", TINY, "--output", out, "--batch", "1",
            "--threads", "1", "--decode-threads", "1", "--progress-seconds", "0.5", *extra]


def env(**more):
    return dict(os.environ, OMP_NUM_THREADS="1", **more)


def published(path):
    """(rounds, done splits, planned splits) of the file as a reader sees it now, or None
    while it cannot be read (not created yet)."""
    try:
        with h5py.File(path, "r") as f:
            return (int(f.attrs.get("rounds", 0)), int(f["/progress/split_done"][:].sum()),
                    int(f["/progress/split_done"].shape[0]))
    except (OSError, KeyError):
        return None


def uninterrupted(folder, name):
    path = os.path.join(WORK, name)
    if not os.path.exists(path):
        subprocess.run(cmd(folder, path, 1, ["--quiet"]), check=True, env=env(), capture_output=True)
    return read(path)


def killed_run(folder, out, ranks, extra=(), pause_ms=0):
    """Starts a run, waits for a published round (with pause_ms: for a round that has
    flushed its rows and not yet published them), SIGKILLs the last rank. Returns the
    state the file was in, or None when the run finished before the kill."""
    if os.path.exists(out):
        os.remove(out)
    e = env(PM_TEST_ROUND_PAUSE_MS=str(pause_ms)) if pause_ms else env()
    p = subprocess.Popen(cmd(folder, out, ranks, ["--checkpoint-seconds", "0.3", *extra]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=e)
    state = None
    deadline = time.time() + 300
    err = []
    if pause_ms:
        # The second round's pause: rows of round 2 flushed, round 1 published.
        for line in p.stderr:
            err.append(line)
            if "[test] round 2: rows flushed" in line:
                state = published(out)
                break
    else:
        while time.time() < deadline and p.poll() is None:
            s = published(out)
            if s and s[0] >= 2 and 0 < s[1] < s[2]:
                state = s
                break
            time.sleep(0.1)
    pids = rank_pids(p.pid)
    if state is None or len(pids) != ranks:
        p.kill()
        p.wait()
        return None
    os.kill(sorted(pids)[-1], signal.SIGKILL)
    rest = p.stderr.read()
    p.wait()
    assert p.returncode != 0, "mpirun reported success after a rank was killed"
    assert time.time() < deadline, "the job did not end after a rank was killed"
    return state


def resume_and_check(folder, out, ranks, state, whole, what):
    rounds, done, planned = state
    after = published(out)
    assert after is not None, f"{what}: the file does not open after the kill"
    # Nothing published is lost: at least what was seen before the kill is still there.
    assert after[1] >= done, f"{what}: {after[1]} splits done after the kill, {done} before"
    with h5py.File(out, "r") as f:
        assert int(f.attrs["complete"]) == 0
        kept = int(f.attrs["staged_rows"])
    p = subprocess.run(cmd(folder, out, ranks, ["--resume", "--metrics-json", out + ".json"]),
                       capture_output=True, text=True, env=env())
    assert p.returncode == 0, f"{what}: --resume exited {p.returncode}\n{p.stderr[-3000:]}"
    got = read(out)
    assert int(got["attrs"]["complete"]) == 1, f"{what}: resumed file not complete"
    same_rows(got, whole, f"{what}: resumed vs uninterrupted")
    # Only the work the file did not hold is redone: the resumed run read exactly the
    # records of the splits not in it.
    with open(out + ".json") as f:
        records = json.load(f)["records"]
    total = len(whole["keys"])
    assert records == total - kept, f"{what}: --resume read {records} records, {total - kept} were missing"
    print(f"{what}: killed with {after[1]} of {planned} splits ({kept} of {total} rows) in the file "
          f"after {after[0]} rounds; --resume read the other {records} records and completed it")


def rounds_equal_one_write():
    folder = os.path.join(WORK, "many")
    make_images(folder, IMAGES)
    whole = uninterrupted(folder, "ckpt_whole.h5")
    # Rounds by time are voted every 0.2 s, so a run that happens to go fast (a faster
    # machine) has fewer: up to three tries, each with half the interval of the last.
    for ranks, tries in [(2, [["--checkpoint-seconds", s] for s in ("0.2", "0.1", "0.05")]),
                         (3, [["--checkpoint-mb", "0.01"]] * 3)]:
        out = os.path.join(WORK, f"ckpt_rounds{ranks}.h5")
        for extra in tries:
            p = subprocess.run(cmd(folder, out, ranks, extra + ["--quiet"]), capture_output=True, text=True, env=env())
            assert p.returncode == 0, p.stderr
            got = read(out)
            rounds = int(got["attrs"]["rounds"])
            if rounds >= 3:
                break
        assert rounds >= 3, f"{ranks} ranks, {extra}: only {rounds} round(s); the run is too short to test rounds"
        same_rows(got, whole, f"{ranks} ranks {extra}")
        with h5py.File(out, "r") as f:
            first = f["/progress/split_first_row"][:]
            rows = f["/progress/split_rows"][:]
            assert (first == np.concatenate([[0], np.cumsum(rows)[:-1]])).all(), "final file not in split order"
        print(f"PASS: {ranks} ranks {extra}: {rounds} rounds, rows equal to one write")


def check_between_rounds(out, last_staged):
    """Reads the file of a running job as a reader would, and checks the reader's rule
    (README, "Checkpoint rounds"): a split is in when split_done is 1 and its rows lie
    below staged_rows. Returns (rounds published, staged_rows), or None when the file does
    not open (parallel HDF5 has no single-writer/multi-reader mode)."""
    try:
        with h5py.File(out, "r") as f:
            rounds = int(f.attrs["rounds"])
            complete = int(f.attrs["complete"])
            done = f["/progress/split_done"][:].astype(bool)
            first = f["/progress/split_first_row"][:]
            rows = f["/progress/split_rows"][:]
            staged = int(f.attrs["staged_rows"])
            keys = f["/images/key_length"][:staged]
    except (OSError, KeyError):
        return None
    assert complete == 0, "the file says complete while the run goes on"
    assert (first[done] >= 0).all(), "a done split without a first row"
    inside = done & (first + rows <= staged)
    assert len(keys) == staged, f"{len(keys)} key lengths below staged_rows {staged}"
    assert staged >= last_staged, f"staged_rows went back from {last_staged} to {staged}"
    assert inside.sum() > 0 or rounds == 0, f"round {rounds} published, but no split lies below staged_rows"
    order = np.argsort(first[inside])
    ends = (first[inside] + rows[inside])[order]
    assert (first[inside][order][1:] >= ends[:-1]).all(), "published splits overlap"
    return rounds, staged


def readable_between_rounds():
    """The file is read in each round's window between its rows and their publication
    (PM_TEST_ROUND_PAUSE_MS): the previous round is then published and the next one's
    rows already lie past staged_rows, the state a reader is most likely to meet. A run
    that goes too fast for two such windows is retried with twice the images."""
    out = os.path.join(WORK, "ckpt_readable.h5")
    count = IMAGES
    for attempt in range(3):
        # Larger sets in their own folders: the other tests' set stays as it is.
        folder = os.path.join(WORK, "many" if count == IMAGES else f"many{count}")
        make_images(folder, count)
        if os.path.exists(out):
            os.remove(out)
        p = subprocess.Popen(cmd(folder, out, 2, ["--checkpoint-seconds", "0.2"]), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env(PM_TEST_ROUND_PAUSE_MS="500"))
        seen = set()
        last_staged = 0
        err = []
        for line in p.stderr:
            err.append(line)
            if "[test] round" in line:
                s = check_between_rounds(out, last_staged)
                if s is not None and s[0] >= 1:
                    seen.add(s[0])
                    last_staged = s[1]
        p.wait()
        assert p.returncode == 0, "".join(err[-30:])
        if len(seen) >= 2:
            break
        print(f"{count} images: saw only rounds {sorted(seen)} while the run went on; retrying with more")
        count *= 2
    assert len(seen) >= 2, f"saw only rounds {sorted(seen)} while the run went on"
    print(f"PASS: the file read back as an incomplete run after rounds {sorted(seen)}")


def sigkill_one_rank():
    folder = os.path.join(WORK, "many")
    count = IMAGES
    for ranks in (2, 3):
        whole = None
        for attempt in range(3):
            make_images(folder, count)
            whole = uninterrupted(folder, f"ckpt_whole{count}.h5")
            out = os.path.join(WORK, f"ckpt_killed{ranks}.h5")
            state = killed_run(folder, out, ranks)
            if state is not None:
                break
            print(f"the run of {count} images ended before the kill; retrying with more")
            count *= 2
        else:
            sys.exit("FAIL: the run always finished before a rank could be killed")
        resume_and_check(folder, out, ranks, state, whole, f"SIGKILL of 1 of {ranks} ranks")
    print("PASS")


def kill_during_round():
    folder = os.path.join(WORK, "many")
    make_images(folder, IMAGES)
    whole = uninterrupted(folder, f"ckpt_whole{IMAGES}.h5")
    out = os.path.join(WORK, "ckpt_midround.h5")
    state = killed_run(folder, out, 2, pause_ms=4000)
    assert state is not None, "no round paused before its publication"
    with h5py.File(out, "r") as f:
        staged = int(f.attrs["staged_rows"])
        longest = max(f[f"/images/{c}"].shape[0] for c in f["images"])
    assert longest > staged, f"the cut round left no rows past staged_rows ({longest} vs {staged})"
    resume_and_check(folder, out, 2, state, whole, "kill between a round's rows and its publication")
    print("PASS")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
