#!/usr/bin/python3
"""End-to-end checks of `pixelmill ingest` and `pixelmill extract --input hbase://...`
through the real binary under real mpirun, against the HBase of the CTest fixture.
One check per invocation: setup | ranks | restart | writeback | writeback_detections | dedup.
Exit 0 = pass.

The table: photos loaded by `pixelmill ingest` (4 regions from --split-keys), plus rows
with binary keys (0x00, 0xFF, a 4 KB key), an empty file (status empty) and a row without
the image column (status missing), loaded by pm-hbase-testtool.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
TOOL = os.environ["PM_HBASE_TOOL"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
HOME = os.environ["PM_HBASE_HOME"]
SCRIPT = os.environ["PM_HBASE_SCRIPT"]
MODEL_DIR = os.path.join(WORK, "model")
TINY = os.path.join(MODEL_DIR, "tiny_embed.onnx")
PHOTOS = os.path.join(WORK, "photos")
TABLE = "pm_e2e"
STATUS = ["ok", "empty", "corrupt", "unsupported", "too_large", "read_error",
          "inference_error", "missing"]


def url(table=TABLE):
    with open(os.path.join(HOME, "ports")) as f:
        _, port = f.read().split()
    return f"hbase://127.0.0.1:{port}/{table}"


def run(args, np_=1, check=True):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def read_h5(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        keys = [bytes(f["/images/key"][i][: lens[i]]) for i in range(n)]
        return keys, f["/images/status"][:], f["/images/embedding"][:]


def dump(column, table_url=None):
    p = subprocess.run([TOOL, "dump", table_url or url(), column], capture_output=True, text=True,
                       check=True)
    rows = {}
    for line in p.stdout.splitlines():
        k, v, s = line.split(" ")
        rows[bytes.fromhex(k)] = (bytes.fromhex(v), s)
    return rows


def expected():
    """key -> status name, from what setup loaded."""
    want = {}
    with open(os.path.join(WORK, "expected.tsv")) as f:
        for line in f:
            k, s = line.split()
            want[bytes.fromhex(k)] = s
    return want


def setup():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(MODEL_DIR)
    subprocess.run([BIN, "model", "make-test", "--out", MODEL_DIR], check=True,
                   env=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1"))
    os.makedirs(os.path.join(PHOTOS, "darknet"))
    os.makedirs(os.path.join(PHOTOS, "opencv"))
    darknet = "/usr/share/darknet/data"
    if os.path.isdir(darknet):
        for name in sorted(os.listdir(darknet)):
            if name.endswith(".jpg"):
                shutil.copy(os.path.join(darknet, name), os.path.join(PHOTOS, "darknet", name))
    ex = "/usr/share/doc/opencv-doc/examples/data"
    for name in ["baboon.jpg", "fruits.jpg", "lena.jpg", "messi5.jpg", "home.jpg", "orange.jpg",
                 "apple.jpg", "butterfly.jpg", "building.jpg"]:
        if os.path.exists(os.path.join(ex, name)):
            shutil.copy(os.path.join(ex, name), os.path.join(PHOTOS, "opencv", name))
    open(os.path.join(PHOTOS, "opencv", "zero_bytes.jpg"), "wb").close()
    photos = sorted(os.path.relpath(os.path.join(d, f), PHOTOS)
                    for d, _, fs in os.walk(PHOTOS) for f in fs)
    assert len(photos) >= 6, f"too few test photos: {photos}"

    # Drop a table left by an earlier run (a fresh name would leak tables instead).
    subprocess.run([TOOL, "drop", url(), "f:img"], check=False)
    p = run(["ingest", "--input", f"dir:{PHOTOS}", "--output", url(), "--column", "f:img",
             "--split-keys", "darknet/h,opencv/c,x", "--batch-rows", "3"], np_=2)
    print(p.stdout.strip())
    want = {}
    for rel in photos:
        want[rel.encode()] = "empty" if rel.endswith("zero_bytes.jpg") else "ok"

    # Binary keys and a row without the image column.
    some = os.path.join(PHOTOS, "opencv", next(f for f in sorted(os.listdir(os.path.join(PHOTOS, "opencv")))
                                               if f != "zero_bytes.jpg"))
    extra = {
        b"\x00": some,
        b"\x00\x00\xffbin": some,
        b"darknet/\x00mid": some,
        b"opencv/\xff\xff": some,
        b"\xff\xfe\x00tail": some,
        b"k" * 4096 + b"/long": some,
        b"m/no-image-cell": "-",
    }
    lines = "".join(f"{k.hex()} {v}\n" for k, v in extra.items())
    subprocess.run([TOOL, "put", url(), "f:img"], input=lines, text=True, check=True)
    for k, v in extra.items():
        want[k] = "missing" if v == "-" else "ok"
    with open(os.path.join(WORK, "expected.tsv"), "w") as f:
        for k, s in sorted(want.items()):
            f.write(f"{k.hex()} {s}\n")
    got = dump("f:img")
    assert set(got) == set(want), f"table rows differ from what was loaded: {set(got) ^ set(want)}"
    regions = subprocess.run([TOOL, "regions", url(), "f:img"], capture_output=True, text=True,
                             check=True).stdout.split("\n")
    assert [r.split(" ")[0] for r in regions if r] == ["", b"darknet/h".hex(), b"opencv/c".hex(), b"x".hex()], regions

    # Key patterns and key-quantile regions, 3 ranks sharing the list.
    keys_url = url("pm_e2e_keys")
    subprocess.run([TOOL, "drop", keys_url, "f:img"], check=False)
    run(["ingest", "--input", f"dir:{PHOTOS}", "--output", keys_url, "--column", "f:img",
         "--key-format", "img/{stem}.{ext}", "--regions", "3", "--batch-bytes", "100000"], np_=3)
    p = subprocess.run([TOOL, "dump", keys_url, "f:img"], capture_output=True, text=True, check=True)
    keys = sorted(bytes.fromhex(line.split(" ")[0]) for line in p.stdout.splitlines())
    assert keys == sorted(("img/" + os.path.basename(r)).encode() for r in photos), keys
    regions = subprocess.run([TOOL, "regions", keys_url, "f:img"], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert len(regions) == 3, f"--regions 3 gave {regions}"
    subprocess.run([TOOL, "drop", keys_url, "f:img"], check=True)
    print(f"PASS: {len(want)} rows loaded ({len(photos)} by ingest, {len(extra)} binary/missing)")


# The table holds a 4101-byte key on purpose (long binary keys through the scanners): runs
# that should keep every key pass HBase's own limit, over extract's default of 4096.
ALL_KEYS = ["--max-key-bytes", "32767"]
DEFAULT_MAX_KEY = 4096


def check_output(path, label, max_key=None):
    """Every row once, in key order, with its expected status. With `max_key` (the run's
    --max-key-bytes), keys longer than it are keyless too_large rows instead."""
    keys, status, emb = read_h5(path)
    want = expected()
    cut = {k for k in want if max_key is not None and len(k) > max_key}
    kept = [k for k in keys if k != b""]
    assert len(keys) == len(kept) + len(cut), f"{label}: {len(keys)} rows for {len(want)} keys"
    assert len(kept) == len(set(kept)), f"{label}: a row appears twice"
    assert set(kept) == set(want) - cut, f"{label}: keys differ: {set(kept) ^ (set(want) - cut)}"
    assert kept == sorted(kept), f"{label}: rows not in key order"
    for k, s in zip(keys, status):
        if k == b"":
            assert STATUS[s] == "too_large", f"{label}: a keyless row is {STATUS[s]}"
            continue
        exp = want[k]
        if exp == "ok":
            assert STATUS[s] == "ok", f"{label}: {k[:40]!r} is {STATUS[s]}, expected ok"
        else:
            assert STATUS[s] == exp, f"{label}: {k[:40]!r} is {STATUS[s]}, expected {exp}"
    return keys, status, emb


def ranks():
    outs = {}
    for n in (1, 2, 3):
        path = os.path.join(WORK, f"hbase_np{n}.h5")
        run(["extract", "--input", url(), "--column", "f:img", "--model", TINY, "--output", path,
             "--batch", "4", "--scanners", "2", "--quiet"] + ALL_KEYS, np_=n)
        outs[n] = check_output(path, f"np={n}")
    k1, s1, e1 = outs[1]
    for n in (2, 3):
        k, s, e = outs[n]
        assert k == k1 and (s == s1).all(), f"np={n}: rows differ from np=1"
        diff = np.abs(e - e1).max()
        assert diff <= 1e-4, f"np={n}: embeddings differ by {diff}"
    # A binary row range given on the command line (\xHH escapes), clipped across regions.
    lo, hi = b"\x00\x00", b"opencv/\xff"
    path = os.path.join(WORK, "hbase_range.h5")
    run(["extract", "--input", url(), "--column", "f:img", "--model", TINY, "--output", path,
         "--start-row", "\\x00\\x00", "--stop-row", "opencv/\\xff", "--quiet"] + ALL_KEYS, np_=2)
    keys, _, _ = read_h5(path)
    want = sorted(k for k in expected() if lo <= k < hi)
    assert keys == want, f"row range: got {keys}, want {want}"
    print(f"PASS: {len(k1)} rows, every key exactly once at np=1,2,3; embeddings agree; "
          f"row range gave {len(keys)} rows")


def restart():
    """The Thrift server is SIGKILLed while extract scans, then started again; the run's
    summary (metrics JSON) and progress lines say so."""
    path = os.path.join(WORK, "hbase_restart.h5")
    metrics = os.path.join(WORK, "hbase_restart.json")
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "2", BIN, "extract",
           "--input", url(), "--column", "f:img", "--model", TINY, "--output", path,
           "--batch", "2", "--scanners", "2", "--max-read-mbps", "0.15",
           "--metrics-json", metrics, "--progress-seconds", "1"] + ALL_KEYS
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    time.sleep(4)
    assert proc.poll() is None, "extract finished before the restart: slow it down further"
    with open(os.path.join(HOME, "thrift.pid")) as f:
        os.kill(int(f.read()), signal.SIGKILL)
    subprocess.run(["bash", SCRIPT, "start"], check=True, capture_output=True)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"extract failed after the restart:\n{out}\n{err}"
    check_output(path, "restart")
    with open(metrics) as f:
        conn = json.load(f).get("connection")
    assert conn is not None, f"no connection counters in the metrics of an HBase run"
    assert conn["retries"] >= 1 and conn["reconnects"] >= 1, f"restart not counted: {conn}"
    assert f"connection: {conn['retries']} retries, {conn['reconnects']} reconnects" in out, out
    last = [l for l in err.splitlines() if l.startswith("extract: ")][-1]
    assert f"retries {conn['retries']} reconnects {conn['reconnects']}" in last, last
    print(f"PASS: Thrift server killed and restarted mid-scan; every row exactly once; "
          f"{conn['retries']} retries and {conn['reconnects']} reconnects reported")


def writeback():
    # The default --max-key-bytes: the 4101-byte key is a keyless too_large row, which
    # the write-back skips (no stored key names its row, a cut one could name another).
    path = os.path.join(WORK, "hbase_writeback.h5")
    run(["extract", "--input", url(), "--column", "f:img", "--model", TINY, "--output", path,
         "--output-hbase", url(), "--output-column", "f:emb", "--batch", "4", "--quiet"], np_=2)
    keys, status, emb = check_output(path, "writeback", max_key=DEFAULT_MAX_KEY)
    back = dump("f:emb")
    headers = dump("f:emb.header")
    long_keys = [k for k in expected() if len(k) > DEFAULT_MAX_KEY]
    assert long_keys and all(headers[k][1] == "missing" for k in long_keys), \
        "a row whose key was not stored got cells"
    n_ok = 0
    for i, k in enumerate(keys):
        if k == b"":
            continue
        hdr = headers[k][0].decode()
        assert f"status={STATUS[status[i]]}" in hdr, f"{k[:40]!r}: header {hdr}"
        if STATUS[status[i]] == "ok":
            v = np.frombuffer(back[k][0], dtype="<f4")
            assert v.shape == emb[i].shape, f"{k[:40]!r}: dim {v.shape} vs {emb[i].shape}"
            assert np.array_equal(v, emb[i]), f"{k[:40]!r}: HBase embedding differs from HDF5"
            assert f"dim={emb.shape[1]}" in hdr and "dtype=float32" in hdr, hdr
            n_ok += 1
        else:
            assert back[k][1] == "missing", f"{k[:40]!r}: failed row has an embedding cell"
    # The dedup write-back of the same file skips the keyless row too (it used to stop).
    run(["dedup", "--input", path, "--quiet"], np_=2)
    groups = dump("f:dedup.group")
    assert all(groups[k][1] == "missing" for k in long_keys), "the keyless row got dedup cells"
    assert all(groups[k][1] == "ok" for k in keys if k), "a row with a key got no dedup cells"
    print(f"PASS: {n_ok} embeddings read back from HBase equal the HDF5 ones; the row whose "
          f"{len(long_keys[0])}-byte key was not stored got no cells from either write-back")


def writeback_detections():
    """extract --detector from HBase with write-back: each ok row's f:det.detections cell
    (JSON) holds the row's objects of /detections; failed rows get none."""
    path = os.path.join(WORK, "hbase_detections.h5")
    card = os.path.join(os.environ["PM_ROOT"], "models", "centerface.json")
    run(["extract", "--input", url(), "--column", "f:img", "--model", TINY, "--output", path,
         "--output-hbase", url(), "--output-column", "f:det", "--detector", card, "--min-score", "0.1",
         "--batch", "4", "--quiet"], np_=2)
    keys, status, _ = read_h5(path)
    with h5py.File(path, "r") as f:
        image = f["/detections/image"][:]
        box = f["/detections/box"][:]
        score = f["/detections/score"][:]
        classes = json.loads(f["/detections"].attrs["classes"])
        cls = f["/detections/class"][:]
    cells = dump("f:det.detections")
    with_objects = 0
    for i, k in enumerate(keys):
        if k == b"":
            continue
        if STATUS[status[i]] != "ok":
            assert cells[k][1] == "missing", f"{k[:40]!r}: a failed row has a detections cell"
            continue
        got = json.loads(cells[k][0].decode())
        mine = np.nonzero(image == i)[0]
        assert len(got) == len(mine), f"{k[:40]!r}: {len(got)} objects in HBase, {len(mine)} in /detections"
        for g, j in zip(got, mine):
            assert np.allclose(g["box"], box[j], atol=1e-3) and abs(g["score"] - score[j]) < 1e-6, \
                f"{k[:40]!r}: {g} vs {box[j]} {score[j]}"
            assert g["class"] == classes[cls[j]], g
        with_objects += len(mine) > 0
    assert with_objects >= 1, "no row with objects: the check proves nothing"
    print(f"PASS: the detections cells of {sum(1 for s in status if s == 0)} ok rows equal /detections "
          f"({with_objects} rows with objects); failed rows have none")


DEDUP_TABLE = "pm_e2e_dedup"


def read_dedup_h5(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        keys = [bytes(f["/images/key"][i][: lens[i]]) for i in range(n)]
        pairs = f["/dedup/pairs"][:].reshape(-1, 2)
        return (keys, f["/dedup/group"][:], f["/dedup/exact_group"][:], pairs,
                f["/dedup/score"][:], float(f["/dedup"].attrs["threshold"]))


def check_dedup_cells(path, column, label):
    """Every row's cells under `column` (family:prefix) equal /dedup of `path`."""
    keys, group, exact, pairs, score, threshold = read_dedup_h5(path)
    # max() below can skip a NaN score (max(x, nan) is x): make a NaN fail here instead.
    assert np.isfinite(score).all(), f"{label}: non-finite dedup scores {score[~np.isfinite(score)]}"
    best, count = {}, {}
    for (a, b), sc in zip(pairs, score):
        for r in (int(a), int(b)):
            best[r] = max(best.get(r, -2.0), float(sc))
            count[r] = count.get(r, 0) + 1
    table = url(DEDUP_TABLE)
    cells = {field: dump(f"{column}.{field}", table) for field in
             ("group", "exact_group", "score", "header")}
    exact_dups = 0
    for i, k in enumerate(keys):
        g, e = int(group[i]), int(exact[i])
        got_g, got_e = cells["group"][k], cells["exact_group"][k]
        assert got_g == (keys[g], "ok"), f"{label}: {k!r} group cell {got_g}, want {keys[g]!r}"
        assert got_e == (keys[e], "ok"), f"{label}: {k!r} exact_group cell {got_e}, want {keys[e]!r}"
        want_score = (f"{best[i]:.6f}".encode(), "ok") if i in best else (b"", "empty")
        assert cells["score"][k] == want_score, f"{label}: {k!r} score {cells['score'][k]}, want {want_score}"
        hdr = cells["header"][k][0].decode()
        want_hdr = (f"threshold={threshold:.6f};group_row={g};exact_group_row={e};"
                    f"pairs={count.get(i, 0)}")
        assert hdr == want_hdr, f"{label}: {k!r} header {hdr!r}, want {want_hdr!r}"
        if e != i:
            exact_dups += 1
            assert got_g[0] != k and got_e[0] != k, f"{label}: duplicate {k!r} points at itself"
    assert exact_dups >= 3, f"{label}: expected the byte-identical copies to group, got {exact_dups}"
    assert set(cells["group"]) == set(keys), f"{label}: rows in HBase differ from the HDF5 rows"
    return len(keys), exact_dups, len(best)


def dedup():
    """Dedup results written back to the HBase table the rows came from, row by row."""
    src = os.path.join(WORK, "dups")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(os.path.join(src, "a"))
    os.makedirs(os.path.join(src, "z"))
    photos = sorted(os.path.join(d, f) for d, _, fs in os.walk(PHOTOS) for f in fs
                    if f.endswith(".jpg") and os.path.getsize(os.path.join(d, f)) > 0)[:6]
    assert len(photos) >= 3, photos
    for i, p in enumerate(photos):
        shutil.copy(p, os.path.join(src, "a", f"p{i}.jpg"))
    # Byte-identical copies in another region: z/p0 twice, z/p1 once.
    shutil.copy(photos[0], os.path.join(src, "z", "copy0.jpg"))
    shutil.copy(photos[0], os.path.join(src, "z", "copy0b.jpg"))
    shutil.copy(photos[1], os.path.join(src, "z", "copy1.jpg"))
    table = url(DEDUP_TABLE)
    subprocess.run([TOOL, "drop", table, "f:img"], check=False)
    run(["ingest", "--input", f"dir:{src}", "--output", table, "--column", "f:img",
         "--split-keys", "a/p3,z"], np_=2)

    # extract --dedup from HBase: the groups go back to the input table (default f:dedup).
    path = os.path.join(WORK, "hbase_dedup.h5")
    run(["extract", "--input", table, "--column", "f:img", "--model", TINY, "--output", path,
         "--batch", "4", "--dedup", "--quiet"], np_=2)
    rows, dups, paired = check_dedup_cells(path, "f:dedup", "extract --dedup")
    assert dups == 3, f"expected 3 byte-identical copies, got {dups}"
    assert cells_for(table, "f:dedup.exact_group")[b"z/copy0b.jpg"] == b"a/p0.jpg"

    # dedup on the file alone, another threshold and prefix, 3 ranks.
    run(["dedup", "--input", path, "--threshold", "0.999", "--dedup-column", "f:strict", "--quiet"],
        np_=3)
    check_dedup_cells(path, "f:strict", "dedup --threshold 0.999")

    # --no-hbase-write: nothing written.
    run(["dedup", "--input", path, "--dedup-column", "f:none", "--no-hbase-write", "--quiet"], np_=2)
    none = dump("f:none.group", table)
    assert all(s == "missing" for _, s in none.values()), "--no-hbase-write wrote cells"

    # A family the table lacks: a clear error before any work, on every rank.
    p = run(["dedup", "--input", path, "--dedup-column", "nofam:dedup", "--quiet"], np_=2,
            check=False)
    assert p.returncode != 0, "dedup into a missing column family succeeded"
    assert "no column family 'nofam'" in p.stderr and "--no-hbase-write" in p.stderr, p.stderr
    # extract --dedup checks the family before it reads a single image.
    p = run(["extract", "--input", table, "--column", "f:img", "--model", TINY, "--output",
             os.path.join(WORK, "never.h5"), "--dedup", "--dedup-column", "nofam:dedup", "--quiet"],
            np_=2, check=False)
    assert p.returncode != 0 and "no column family 'nofam'" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(WORK, "never.h5")), "extract ran despite the bad family"
    print(f"PASS: {rows} rows; groups, exact groups, scores and headers in HBase equal /dedup "
          f"({dups} byte-identical copies, {paired} rows with near pairs); --no-hbase-write "
          f"and a missing family behave")


def cells_for(table_url, column):
    return {k: v for k, (v, _) in dump(column, table_url).items()}


if __name__ == "__main__":
    {"setup": setup, "ranks": ranks, "restart": restart, "writeback": writeback,
     "writeback_detections": writeback_detections, "dedup": dedup}[sys.argv[1]]()
