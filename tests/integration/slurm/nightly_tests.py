#!/usr/bin/python3
"""`slurm/pixelmill-nightly.sbatch` over simulated nights, on the real local Slurm and the
real local HBase (both CTest fixtures), with the project's model (sscd_distilled, whose
card's threshold is used).

Rows are ingested with the cell timestamps of their day, night after night, with planted
duplicates: within a night (horses + a JPEG-20 copy), across nights (giraffe, then a half-size
copy; eagle, then a JPEG-20 copy), and a row that links two older groups (night 1 holds the
left 60 % of the dog photo, night 2 the right 60 % and its JPEG-20 copy, which are not near
each other; night 3 holds the whole photo, near both). After each night, each row's group cell
in HBase must give the same partition as a from-scratch extract + dedup of all rows so far,
and name the group's oldest row (the smallest row of the earliest night); each night's file
holds exactly the rows ingested for it (none twice, none missed). Night 2 is killed with
SIGKILL (every rank) once its file holds some of its splits, and leaves the watermark where it was; the next submission
completes it. Night 3, run again, changes nothing. Night 4 fails (a bad flag); night 5
completes night 4 first and then covers its own window. Night 6 is skipped (SKIP=1).
Nights 1-2 use the exact join; from night 3 on `dedup --index ivf` with every list probed
(the same groups), night 3 training the lists and the later nights reusing them.
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

BIN = os.environ["PM_BIN"]
TOOL = os.environ["PM_HBASE_TOOL"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
ROOT = os.environ["PM_ROOT"]
HBASE_HOME = os.environ["PM_HBASE_HOME"]
MODEL = os.path.join(ROOT, "models", "sscd_distilled.onnx")
SBATCH = os.path.join(ROOT, "slurm", "pixelmill-nightly.sbatch")
TABLE = "pm_nightly"
DAY0 = 1793534400000  # 2026-11-01T12:00:00Z in ms: night k's rows are written on day k
DAY = 86400000
IVF = "--index ivf --lists 2 --probe 2"
DARKNET = "/usr/share/darknet/data"
OPENCV = "/usr/share/doc/opencv-doc/examples/data"


def fail(msg):
    sys.exit("FAIL: " + msg)


def url():
    with open(os.path.join(HBASE_HOME, "ports")) as f:
        _, port = f.read().split()
    return f"hbase://127.0.0.1:{port}/{TABLE}"


def mpirun(args, np_=2):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def photo(name):
    for d in (DARKNET, OPENCV):
        if os.path.exists(os.path.join(d, name + ".jpg")):
            img = cv2.imread(os.path.join(d, name + ".jpg"))
            if img is None:
                fail(f"cannot read {name}.jpg in {d}")
            return img
    fail(f"{name}.jpg is in neither {DARKNET} nor {OPENCV} (darknet and opencv-doc packages)")


def jpeg(img, quality=90):
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def night_images(k):
    """name -> JPEG bytes of night k's new rows."""
    dog = photo("dog")
    w = dog.shape[1]
    left, right = dog[:, : w * 60 // 100], dog[:, w - w * 60 // 100:]
    giraffe, eagle, horses = photo("giraffe"), photo("eagle"), photo("horses")
    return {
        1: {"dog-left": jpeg(left), "horses": jpeg(horses), "horses-q20": jpeg(horses, 20),
            "giraffe": jpeg(giraffe), "person": jpeg(photo("person"))},
        2: {"dog-right": jpeg(right), "dog-right-q20": jpeg(right, 20),
            "giraffe-half": jpeg(cv2.resize(giraffe, (giraffe.shape[1] // 2, giraffe.shape[0] // 2))),
            "eagle": jpeg(eagle), "kite": jpeg(photo("kite"))},
        3: {"dog": jpeg(dog), "scream": jpeg(photo("scream")), "eagle-q20": jpeg(eagle, 20)},
        4: {"baboon": jpeg(photo("baboon")), "kite-q20": jpeg(photo("kite"), 20)},
        5: {"building": jpeg(photo("building")), "baboon-q20": jpeg(photo("baboon"), 20)},
        6: {"building-q20": jpeg(photo("building"), 20)},
    }[k]


def ingest(k):
    """Writes night k's rows with cell timestamps of day k; returns their keys."""
    folder = os.path.join(WORK, f"night{k}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, data in night_images(k).items():
        with open(os.path.join(folder, name + ".jpg"), "wb") as f:
            f.write(data)
    mpirun(["ingest", "--input", f"dir:{folder}", "--output", url(), "--column", "f:img",
            "--key-format", f"n{k}/{{stem}}", "--split-keys", "n1/h,n2,n2/e,n2/k,n3,n4,n5",
            "--timestamp", str(DAY0 + (k - 1) * DAY)], np_=1)
    return {f"n{k}/{name}".encode() for name in night_images(k)}


def until(k):  # the end of night k's window: 6 h after its rows were written
    return DAY0 + (k - 1) * DAY + 6 * 3600 * 1000


def nightly_dir():
    return os.path.join(WORK, "nightly")


def sbatch(name, night, extra="", wait=True, **more_env):
    log = os.path.join(WORK, f"{name}-%j.log")
    cmd = ["sbatch", "--wait" if wait else "--parsable", "--nodes=1", "--ntasks-per-node=2",
           "--cpus-per-task=1", "--time=10", f"--output={log}", f"--job-name=pm-{name}", SBATCH]
    env = dict(os.environ, PIXELMILL=BIN, MODEL=MODEL, INPUT=url(), NIGHTLY_DIR=nightly_dir(),
               NIGHT=f"night-{night}", UNTIL=str(until(night)), EXTRA=extra, OMP_NUM_THREADS="1",
               **more_env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=540)
    job = p.stdout.strip().split(";")[0].split()[-1] if p.stdout.strip() else "?"
    return p.returncode, job, log.replace("%j", job)


def run_night(name, night, extra="", **more_env):
    rc, job, log = sbatch(name, night, extra, **more_env)
    text = open(log).read() if os.path.exists(log) else ""
    print(f"--- sbatch {name} (night {night}): exit {rc}, job {job} ---\n{text}--- end ---")
    return rc, text


def job_state(job):
    p = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True)
    m = re.search(r"JobState=(\S+)", p.stdout)
    return m.group(1) if m else "GONE"


def rank_pids(output):
    """The pixelmill processes writing `output` (the ranks of a job step)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0] == BIN.encode() and output.encode() in argv:
            pids.append(int(pid))
    return pids


def committed():
    path = os.path.join(nightly_dir(), "committed")
    if not os.path.exists(path):
        return []
    return [line.split("\t") for line in open(path).read().splitlines()]


def file_keys(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        return [bytes(f["/images/key"][i][: lens[i]]) for i in range(n)]


def hbase_groups():
    """key -> group key, from the group cells in HBase."""
    p = subprocess.run([TOOL, "dump", url(), "f:dedup.group"], capture_output=True, text=True,
                       check=True)
    out = {}
    for line in p.stdout.splitlines():
        k, v, s = line.split(" ")
        if s == "ok":
            out[bytes.fromhex(k)] = bytes.fromhex(v)
    return out


def dedup_cells():
    """Every dedup cell of every row, to see that a no-op run changed none."""
    cells = {}
    for field in ("group", "exact_group", "score", "header"):
        p = subprocess.run([TOOL, "dump", url(), f"f:dedup.{field}"], capture_output=True,
                           text=True, check=True)
        cells[field] = sorted(p.stdout.splitlines())
    return cells


def partition(group_of):
    classes = {}
    for k, g in group_of.items():
        classes.setdefault(g, set()).add(k)
    return sorted(sorted(c) for c in classes.values())


def check_night(k, keys_by_night):
    """The state after night k finished."""
    lines = committed()
    if [l[0] for l in lines] != [f"night-{i}" for i in range(1, k + 1)]:
        fail(f"after night {k}: committed nights {[l[0] for l in lines]}")
    if int(lines[-1][2]) != until(k):
        fail(f"after night {k}: watermark {lines[-1][2]}, expected {until(k)}")
    order = {}  # key -> (night, row): the age order that names groups
    for i, line in enumerate(lines, start=1):
        keys = file_keys(line[3])
        if set(keys) != keys_by_night[i] or len(keys) != len(set(keys)):
            fail(f"night {i}'s file {line[3]} holds {sorted(keys)}, ingested {sorted(keys_by_night[i])}")
        for row, key in enumerate(keys):
            order[key] = (i, row)
    got = hbase_groups()
    if set(got) != set(order):
        fail(f"after night {k}: group cells for {len(got)} rows, {len(order)} rows extracted")
    for key, g in got.items():
        if g not in order:
            fail(f"row {key} has group {g}, which is no row")
    # From scratch: every row so far in one run, one dedup, nothing written to HBase.
    scratch = os.path.join(WORK, f"scratch{k}.h5")
    if os.path.exists(scratch):
        os.remove(scratch)
    mpirun(["extract", "--input", url(), "--column", "f:img", "--until", str(until(k)),
            "--model", MODEL, "--output", scratch, "--threads", "1", "--quiet"])
    mpirun(["dedup", "--input", scratch, "--no-hbase-write", "--quiet"])
    with h5py.File(scratch, "r") as f:
        group = f["/dedup/group"][:]
    skeys = file_keys(scratch)
    want = {skeys[i]: skeys[group[i]] for i in range(len(skeys))}
    if partition(got) != partition(want):
        fail(f"after night {k}: HBase groups {partition(got)}\nfrom scratch {partition(want)}")
    for members in partition(got):
        oldest = min(members, key=lambda m: order[m])
        for m in members:
            if got[m] != oldest:
                fail(f"after night {k}: row {m} has group {got[m]}, the group's oldest row is {oldest}")
    print(f"ok: night {k}: {len(order)} rows in {len(partition(got))} groups, equal to a "
          f"from-scratch dedup; every group named by its oldest row")
    return got


def expect_group(got, member, key):
    if got.get(member.encode()) != key.encode():
        fail(f"row {member} has group {got.get(member.encode())}, expected {key}")


def nightly():
    for path in (SBATCH, MODEL):
        if not os.path.exists(path):
            fail(f"{path} is missing (the model comes with scripts/fetch-models.sh)")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    subprocess.run([TOOL, "drop", url(), "f:img"], check=True)
    keys = {}

    keys[1] = ingest(1)
    rc, log = run_night("night1", 1)
    if rc != 0:
        fail(f"night 1 exited {rc}")
    got = check_night(1, keys)
    expect_group(got, "n1/horses-q20", "n1/horses")

    # Night 2, slowed down (reads at 20 kB/s per rank): once its file holds some of its
    # splits, every rank is killed with SIGKILL (a lost node, an OOM kill).
    keys[2] = ingest(2)
    rc, job, log = sbatch("night2-killed", 2, "--max-read-mbps 0.02 --checkpoint-seconds 0.3",
                          wait=False)
    night_file = os.path.join(nightly_dir(), "nights", "night-2.h5")
    killed = None
    deadline = time.time() + 300
    while time.time() < deadline:
        state = job_state(job)
        if state not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING"):
            break
        if killed is None and os.path.exists(night_file):
            # The reader's rule, which --resume applies (README, "Checkpoint rounds"): a
            # split is in when split_done is 1 and its rows lie below staged_rows. During a
            # round /progress may be ahead of staged_rows; those splits are not in yet.
            try:
                with h5py.File(night_file, "r") as f:
                    flags = f["/progress/split_done"][:].astype(bool)
                    first = f["/progress/split_first_row"][:]
                    rows = f["/progress/split_rows"][:]
                    staged = int(f.attrs["staged_rows"])
                    done = int((flags & (first + rows <= staged)).sum())
                    planned = len(flags)
            except (OSError, KeyError):  # between rounds only; parallel HDF5 has no SWMR
                done = planned = 0
            if 0 < done < planned:
                pids = rank_pids(night_file)
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                killed = (done, planned, len(pids))
        time.sleep(0.1)
    else:
        fail(f"job {job} did not end within 300 s")
    text = open(log).read() if os.path.exists(log) else ""
    print(f"--- killed night 2: job {job} {state} ---\n{text}--- end ---")
    if killed is None or killed[2] != 2:
        fail(f"night 2 was not killed part way (splits done, planned, ranks killed: {killed})")
    if state == "COMPLETED" or "night night-2: done" in text:
        fail("the killed night 2 finished anyway")
    if [l[0] for l in committed()] != ["night-1"]:
        fail(f"after the killed night 2 the committed nights are {committed()}")
    print(f"ok: night 2 killed with SIGKILL with {killed[0]} of {killed[1]} splits in its file; "
          f"the watermark did not move")
    rc, log = run_night("night2", 2)
    if rc != 0:
        fail(f"night 2, submitted again, exited {rc}")
    m = re.search(r"night-2.h5 has (\d+) of (\d+) splits done; processing the rest", log)
    if not m or int(m.group(1)) < killed[0]:
        fail("night 2 submitted again did not resume its file from the splits it held")
    got = check_night(2, keys)
    expect_group(got, "n2/giraffe-half", "n1/giraffe")
    expect_group(got, "n2/dog-right-q20", "n2/dog-right")
    if got[b"n1/dog-left"] != b"n1/dog-left":
        fail("the two halves of the dog photo are one group before night 3: the bridge proves nothing")

    # From night 3 on, the IVF join, every list probed (so its groups are the exact ones):
    # night 3 trains the lists, the nights after it reuse them.
    keys[3] = ingest(3)
    rc, log = run_night("night3", 3, DEDUP_EXTRA=IVF)
    if rc != 0:
        fail(f"night 3 exited {rc}")
    got = check_night(3, keys)
    expect_group(got, "n3/dog", "n1/dog-left")
    expect_group(got, "n2/dog-right", "n1/dog-left")  # rewritten: night 3 merged the groups
    expect_group(got, "n2/dog-right-q20", "n1/dog-left")
    expect_group(got, "n3/eagle-q20", "n2/eagle")
    if "index            ivf: 2 lists, 2 probed per row, trained on" not in log:
        fail("night 3 did not train IVF lists")
    if not re.search(r"regrouped\s+2 older rows", log):
        fail("night 3's dedup does not report the 2 older rows it regrouped")

    # Night 3 again: nothing runs, nothing changes.
    before, files = dedup_cells(), sorted(os.listdir(os.path.join(nightly_dir(), "nights")))
    lines = committed()
    rc, log = run_night("night3-again", 3, DEDUP_EXTRA=IVF)
    if rc != 0 or "already done" not in log or "extracting" in log:
        fail(f"night 3 again: exit {rc}, expected a no-op")
    if dedup_cells() != before or committed() != lines or \
            sorted(os.listdir(os.path.join(nightly_dir(), "nights"))) != files:
        fail("night 3 again changed the HBase cells or the nightly directory")
    print("ok: night 3 again changed nothing")

    # Night 4 fails; night 5 completes it, then covers its own window.
    keys[4] = ingest(4)
    rc, log = run_night("night4-fails", 4, "--batch 0", DEDUP_EXTRA=IVF)
    if rc == 0:
        fail("night 4 with --batch 0 exited 0")
    if [l[0] for l in committed()] != ["night-1", "night-2", "night-3"]:
        fail(f"the failed night 4 moved the watermark: {committed()}")
    keys[5] = ingest(5)
    rc, log = run_night("night5", 5, DEDUP_EXTRA=IVF)
    if rc != 0 or "night night-4 did not finish: completing it first" not in log:
        fail(f"night 5 exited {rc} or did not complete night 4 first")
    if len(re.findall(r"index +ivf: 2 lists, 2 probed per row, reused from \S*night-3.h5", log)) != 1 or \
            len(re.findall(r"index +ivf: 2 lists, 2 probed per row, reused from \S*night-4.h5", log)) != 1:
        fail("nights 4 and 5 did not reuse the lists of the night before")
    got = check_night(5, keys)
    expect_group(got, "n4/kite-q20", "n2/kite")
    expect_group(got, "n5/baboon-q20", "n4/baboon")

    # Night 6 skipped: its window is recorded as done, its rows are never extracted.
    ingest(6)
    rc, log = run_night("night6-skipped", 6, SKIP="1")
    if rc != 0 or "extracting" in log:
        fail(f"night 6 with SKIP=1 exited {rc} or extracted")
    last = committed()[-1]
    if last[0] != "night-6" or last[3] != "-" or int(last[2]) != until(6):
        fail(f"the skipped night 6 is recorded as {last}")
    if b"n6/building-q20" in hbase_groups():
        fail("the skipped night's row got a group cell")
    print("ok: night 6 skipped: its window is committed without a file, its row untouched")
    print("PASS: six nights: killed, resumed, re-run, failed and covered, skipped; HBase equals "
          "a from-scratch dedup after each")


if __name__ == "__main__":
    if shutil.which("sbatch") is None:
        fail("sbatch not found: scripts/install-deps.sh installs Slurm (scripts/deps/slurm.txt)")
    {"nightly": nightly}[sys.argv[1]]()
