#!/usr/bin/python3
"""End-to-end checks of `pixelmill extract` (run by CTest; one check per invocation).

Each check runs the real binary under real mpirun and reads the output with h5py.
Exit status 0 = pass; any assertion prints what differed.
"""
import csv
import json
import os
import resource
import shutil
import subprocess
import sys

import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
ROOT = os.environ["PM_ROOT"]
MODEL_DIR = os.path.join(WORK, "model")
TINY = os.path.join(MODEL_DIR, "tiny_embed.onnx")
PHOTOS = os.path.join(WORK, "photos")
STATUS = ["ok", "empty", "corrupt", "unsupported", "too_large", "read_error",
          "inference_error", "missing"]


def run(args, np_=1, check=True, env=None, cwd=None):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    e = dict(os.environ, OMP_NUM_THREADS="1")
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def read(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        keys = [bytes(f["/images/key"][i][: lens[i]]) for i in range(n)]
        return {
            "keys": keys,
            "status": f["/images/status"][:],
            "error": [bytes(e).rstrip(b"\0").decode() for e in f["/images/error"][:]],
            "embedding": f["/images/embedding"][:],
            "hash": f["/images/content_hash"][:],
            # Fixed-length string attributes come back as bytes, older variable-length
            # ones as str: text either way.
            "attrs": {k: (v.decode("utf-8") if isinstance(v, bytes) else v)
                      for k, v in f.attrs.items()},
        }


def setup():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(MODEL_DIR)
    subprocess.run([BIN, "model", "make-test", "--out", MODEL_DIR], check=True,
                   env=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1"))
    assert os.path.exists(TINY) and os.path.exists(TINY[:-5] + ".json")
    # Real photos in nested folders, then the bad-image corpus beside them.
    os.makedirs(os.path.join(PHOTOS, "darknet"))
    darknet = "/usr/share/darknet/data"
    for name in sorted(os.listdir(darknet)):
        if name.endswith(".jpg"):
            shutil.copy(os.path.join(darknet, name), os.path.join(PHOTOS, "darknet", name))
    ex = "/usr/share/doc/opencv-doc/examples/data"
    os.makedirs(os.path.join(PHOTOS, "opencv", "deep"))
    for i, name in enumerate(["baboon.jpg", "fruits.jpg", "lena.jpg", "messi5.jpg", "home.jpg",
                              "orange.jpg", "apple.jpg", "butterfly.jpg", "building.jpg"]):
        src = os.path.join(ex, name)
        if os.path.exists(src):
            sub = "deep" if i % 2 else ""
            shutil.copy(src, os.path.join(PHOTOS, "opencv", sub, name))
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests/data/make_bad_images.py"),
                    os.path.join(PHOTOS, "bad")], check=True)


def expected_bad():
    with open(os.path.join(PHOTOS, "bad", "EXPECTED.tsv")) as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    return {r[0].encode(): (r[1], r[2:4]) for r in rows[1:]}


def all_files():
    out = []
    for d, _, files in os.walk(PHOTOS):
        for name in files:
            out.append(os.path.relpath(os.path.join(d, name), PHOTOS).encode())
    return sorted(out)


def ranks_agree():
    outs = {}
    for n in (1, 2, 3):
        path = os.path.join(WORK, f"ranks{n}.h5")
        run(["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output", path,
             "--batch", "4", "--quiet"], np_=n)
        outs[n] = read(path)
    files = all_files()
    base = outs[1]
    assert base["keys"] == files, f"keys differ from the input files:\n{base['keys']}\n{files}"
    assert len(set(base["keys"])) == len(base["keys"]), "a file appears twice"
    ok = base["status"] == 0
    assert ok.sum() >= 10, f"too few ok rows: {ok.sum()}"
    norms = np.linalg.norm(base["embedding"][ok], axis=1)
    assert np.allclose(norms, 1, atol=1e-4), f"embeddings not unit length: {norms}"
    for n in (2, 3):
        o = outs[n]
        assert o["keys"] == base["keys"], f"np={n}: different keys or order"
        assert (o["status"] == base["status"]).all(), f"np={n}: statuses differ"
        diff = np.abs(o["embedding"] - base["embedding"]).max()
        assert diff <= 1e-4, f"np={n}: embeddings differ by {diff}"
        assert (o["hash"] == base["hash"]).all(), f"np={n}: content hashes differ"
    # The file opens with h5dump too.
    p = subprocess.run(["h5dump", "-H", os.path.join(WORK, "ranks3.h5")], capture_output=True, text=True)
    assert p.returncode == 0 and "/images/embedding" in p.stdout.replace('DATASET "embedding"', "/images/embedding"), p.stderr
    print(f"PASS: {len(files)} files, {ok.sum()} ok; np=1,2,3 agree (max diff within 1e-4)")


def bad_images():
    path = os.path.join(WORK, "bad.h5")
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "2", BIN, "extract",
           "--input", f"dir:{os.path.join(PHOTOS, 'bad')}", "--model", TINY, "--output", path,
           "--metrics-json", os.path.join(WORK, "bad-metrics.json"), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    out = read(path)
    want = expected_bad()
    got = {k: STATUS[s] for k, s in zip(out["keys"], out["status"])}
    keys = sorted(k[4:] for k in all_files() if k.startswith(b"bad/"))
    missing = [k for k in keys if k not in got]
    assert not missing, f"files missing from the output: {missing}"
    wrong = {k.decode(): (got.get(k), v[0]) for k, v in want.items() if got.get(k) != v[0]}
    assert not wrong, f"wrong statuses (got, expected): {wrong}"
    with h5py.File(path, "r") as f:
        size = {k: (int(w), int(h)) for k, w, h in zip(out["keys"], f["/images/width"][:], f["/images/height"][:])}
    for k, (status, wh) in want.items():
        if status == "ok" and wh[0]:
            assert size[k] == (int(wh[0]), int(wh[1])), f"{k}: size {size[k]}, expected {wh}"
    for k, s, e in zip(out["keys"], out["status"], out["error"]):
        if s != 0:
            assert e, f"{k}: status {STATUS[s]} without a message"
    # A header claiming 60000x60000 must not be decoded: memory stays far below 10.8 GB.
    assert peak_mb < 2048, f"peak RSS of a rank was {peak_mb:.0f} MB"
    import json
    m = json.load(open(os.path.join(WORK, "bad-metrics.json")))
    assert m["records"] == len(out["keys"]), m
    assert "connection" not in m, f"a local input reports connection counters: {m}"
    print(f"PASS: {len(want)} expected statuses right, peak rank RSS {peak_mb:.0f} MB")


def cli_errors():
    p = run(["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output",
             os.path.join(WORK, "x.h5"), "--no-such-flag"], np_=2, check=False)
    assert p.returncode != 0, "an unknown flag was accepted"
    assert p.stderr.count("no-such-flag") == 1, f"expected one message:\n{p.stderr}"
    p = run(["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output",
             os.path.join(WORK, "x.h5"), "--batch", "zero"], np_=2, check=False)
    assert p.returncode != 0 and "batch" in p.stderr, p.stderr
    p = run(["extract", "--input", "dir:/no/such/dir", "--model", TINY, "--output",
             os.path.join(WORK, "x.h5")], np_=2, check=False)
    assert p.returncode != 0 and "/no/such/dir" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(WORK, "x.h5")), "output written despite the error"
    p = run(["extract", "--input", f"dir:{PHOTOS}", "--model", "/no/model.onnx", "--output",
             os.path.join(WORK, "x.h5")], np_=2, check=False)
    assert p.returncode != 0 and "model" in p.stderr, p.stderr
    p = run(["extract", "--help"], np_=1)
    for flag in ["--input", "--output", "--model", "--batch", "--threads", "--metrics-json", "--config"]:
        assert flag in p.stdout, f"--help does not document {flag}"
    cfg = os.path.join(WORK, "extract.cfg")
    with open(cfg, "w") as f:
        f.write(f"input = dir:{PHOTOS}/darknet\nmodel = {TINY}\nbatch = 2\nquiet = true\n")
    out = os.path.join(WORK, "cfg.h5")
    run(["extract", "--config", cfg, "--output", out], np_=1)
    assert len(read(out)["keys"]) == 7
    print("PASS: bad flags rejected once, --help and --config work")


def default_model():
    # No --model, and a working directory outside the source tree: the binary finds the
    # default model itself (the source tree it was built from; an install: its prefix).
    model = os.path.join(ROOT, "models", "sscd_distilled.onnx")
    path = os.path.join(WORK, "default.h5")
    run(["extract", "--input", f"dir:{PHOTOS}/darknet", "--output", path,
         "--batch", "4", "--quiet"], np_=2, cwd=WORK)
    out = read(path)
    assert (out["status"] == 0).all(), out["error"]
    params = json.loads(out["attrs"]["parameters"])
    assert os.path.realpath(params["model"]) == os.path.realpath(model), params["model"]
    e = out["embedding"]
    assert e.shape == (7, 512)
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-4)
    sims = e @ e.T
    off = sims[~np.eye(7, dtype=bool)]
    # Seven different photos: a copy-detection descriptor keeps them apart.
    assert off.max() < 0.75, f"distinct photos look like copies: {off.max()}"
    assert "sscd_distilled" in out["attrs"]["model_card"]
    print(f"PASS: default model found from {WORK}, max cosine between distinct photos {off.max():.3f}")


def model_card_as_model():
    # --model given the card means the model it describes, with the sha256 still checked.
    card = TINY[:-5] + ".json"
    by_file, by_card = os.path.join(WORK, "by_file.h5"), os.path.join(WORK, "by_card.h5")
    for model, out in [(TINY, by_file), (card, by_card)]:
        run(["extract", "--input", f"dir:{PHOTOS}/darknet", "--model", model, "--output", out,
             "--quiet"], np_=2)
    a, b = read(by_file), read(by_card)
    assert a["keys"] == b["keys"] and np.array_equal(a["embedding"], b["embedding"])
    assert a["attrs"]["model_sha256"] == b["attrs"]["model_sha256"]
    p = run(["model", "info", "--model", card], np_=1)
    assert "input:" in p.stdout, p.stdout
    # A card that pins another file is refused, naming the card, the file and both hashes.
    bad_dir = os.path.join(WORK, "bad_card")
    shutil.rmtree(bad_dir, ignore_errors=True)
    os.makedirs(bad_dir)
    shutil.copy(TINY, bad_dir)
    with open(card) as f:
        c = json.load(f)
    c["sha256"] = "0" * 64
    bad_card = os.path.join(bad_dir, os.path.basename(card))
    with open(bad_card, "w") as f:
        json.dump(c, f)
    for cmd in (["extract", "--input", f"dir:{PHOTOS}/darknet", "--model", bad_card, "--output",
                 os.path.join(WORK, "bad_card.h5")], ["model", "info", "--model", bad_card]):
        p = run(cmd, np_=1, check=False)
        assert p.returncode != 0, f"{cmd} accepted a card that pins another file"
        assert bad_card in p.stderr and "0" * 64 in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(WORK, "bad_card.h5"))
    # A card naming a file that is not there says so.
    os.remove(os.path.join(bad_dir, os.path.basename(TINY)))
    p = run(["extract", "--input", f"dir:{PHOTOS}/darknet", "--model", bad_card, "--output",
             os.path.join(WORK, "bad_card.h5")], np_=1, check=False)
    assert p.returncode != 0 and "no such file" in p.stderr, p.stderr
    print("PASS: --model takes the card; equal embeddings; a mismatched or missing file is refused")


def list_input():
    lst = os.path.join(WORK, "list.txt")
    files = [os.path.join(PHOTOS, "darknet", n) for n in sorted(os.listdir(os.path.join(PHOTOS, "darknet")))]
    with open(lst, "w") as f:
        f.write("\n".join(files + ["/no/such/file.jpg"]) + "\n")
    path = os.path.join(WORK, "list.h5")
    run(["extract", "--input", f"list:{lst}", "--model", TINY, "--output", path, "--quiet"], np_=2)
    out = read(path)
    assert len(out["keys"]) == len(files) + 1
    st = dict(zip(out["keys"], out["status"]))
    assert STATUS[st[b"/no/such/file.jpg"]] == "read_error", st
    print("PASS: list input, a missing file is a read_error row")


def max_key_bytes():
    # A key over --max-key-bytes: the record keeps its row (too_large, no key, a message
    # with the key's length and start), and the key column stays as narrow as the kept keys.
    root = os.path.join(WORK, "longkeys")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "a" * 60))
    dog = os.path.join(PHOTOS, "darknet", "dog.jpg")
    shutil.copy(dog, os.path.join(root, "short.jpg"))
    shutil.copy(dog, os.path.join(root, "a" * 60, "long.jpg"))  # a key of 69 bytes
    path = os.path.join(WORK, "longkeys.h5")
    run(["extract", "--input", f"dir:{root}", "--model", TINY, "--output", path,
         "--max-key-bytes", "40", "--quiet", "--dedup"], np_=2)
    out = read(path)
    with h5py.File(path, "r") as f:
        width = f["/images/key"].shape[1]
        lengths = list(f["/images/key_length"][:])
    assert len(out["keys"]) == 2, f"every record appears once: {out['keys']}"
    assert width == len("short.jpg"), f"key width {width}"
    assert json.loads(out["attrs"]["parameters"])["max_key_bytes"] == 40
    rows = dict(zip(lengths, zip(out["status"], out["error"])))
    assert STATUS[rows[9][0]] == "ok", rows
    status, error = rows[0]
    assert STATUS[status] == "too_large", rows
    assert error.startswith("key of 69 bytes is over --max-key-bytes 40; not stored. It begins: "
                            + "a" * 60 + "/lon"), error
    # A keyless row goes through dedup and report like any failed row.
    run(["report", "--input", path, "--out", path + ".html"], np_=1)

    # The default limit (4096) with a list: a path of 5005 bytes (no such file either; the
    # key is checked first) would have made every row 5005 bytes wide.
    lst = os.path.join(WORK, "longkeys.txt")
    long_path = "/" + "b" * 5000 + ".jpg"
    with open(lst, "w") as f:
        f.write(f"{dog}\n{long_path}\n")
    path = os.path.join(WORK, "longkeys_default.h5")
    run(["extract", "--input", f"list:{lst}", "--model", TINY, "--output", path, "--quiet"], np_=1)
    out = read(path)
    with h5py.File(path, "r") as f:
        width = f["/images/key"].shape[1]
    assert len(out["keys"]) == 2 and width == len(dog), f"key width {width}, keys {out['keys']}"
    assert sorted(out["keys"]) == [b"", dog.encode()], out["keys"]
    cut = out["keys"].index(b"")
    assert STATUS[out["status"][cut]] == "too_large", out["status"]
    assert out["error"][cut].startswith("key of 5005 bytes is over --max-key-bytes 4096"), out["error"][cut]
    for bad in ("0", "1048577"):
        p = run(["extract", "--input", f"list:{lst}", "--model", TINY, "--output",
                 os.path.join(WORK, "x.h5"), "--max-key-bytes", bad], np_=1, check=False)
        assert p.returncode == 1 and "--max-key-bytes must be in 1..1048576" in p.stderr, p.stderr
    print(f"PASS: keys over --max-key-bytes are keyless too_large rows; key width {width}")


def run_pinned(args, cpus, np_=None):
    """Runs the binary restricted to `cpus` as `taskset -c` would (srun --cpu-bind does the
    same): alone (MPI singleton) when np_ is None, else every rank under mpirun without
    its own binding, so the restriction is the only one."""
    cmd = ["taskset", "-c", ",".join(map(str, cpus)), BIN] + args
    if np_ is not None:
        cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
               "-np", str(np_)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def threads_follow_affinity():
    # The default thread budget counts the CPUs a rank may run on (sched_getaffinity),
    # divided among the ranks of its node that share them, not the machine's cores.
    mine = sorted(os.sched_getaffinity(0))
    photos = f"dir:{PHOTOS}/darknet"
    metrics = os.path.join(WORK, "affinity-metrics.json")

    runs = iter(range(100))

    def extract(cpus, np_=None):
        out = os.path.join(WORK, f"affinity{next(runs)}.h5")
        if os.path.exists(out):
            os.remove(out)
        run_pinned(["extract", "--input", photos, "--model", TINY, "--batch", "4",
                    "--output", out, "--metrics-json", metrics], cpus, np_)
        m = json.load(open(metrics))
        return m["threads_per_rank"], m["cpus_rank0"]

    # Unrestricted (all CPUs this test may use): unchanged, cores / ranks on the node.
    threads, cpus = extract(mine)
    assert cpus == {"allowed": len(mine), "sharers": 1, "node_ranks": 1}, cpus
    assert threads["compute"] == len(mine), threads
    threads, cpus = extract(mine, np_=2)
    assert cpus == {"allowed": len(mine), "sharers": 2, "node_ranks": 2}, cpus
    assert threads["compute"] == max(1, len(mine) // 2), threads

    # One CPU, as `taskset -c 0` or a one-CPU Slurm task: one compute, one decode thread,
    # and the banner says why. With --dedup, the join runs on that one thread too.
    out = os.path.join(WORK, "pinned.h5")
    if os.path.exists(out):
        os.remove(out)
    p = run_pinned(["extract", "--input", photos, "--model", TINY, "--batch", "4",
                    "--metrics-json", metrics, "--output", out, "--dedup"], [mine[0]])
    m = json.load(open(metrics))
    assert m["threads_per_rank"]["compute"] == 1 and m["threads_per_rank"]["decode"] == 1, m
    assert m["cpus_rank0"]["allowed"] == 1, m
    assert "1 compute + 1 decode threads (rank 0 may run on 1 CPU(s), shared by 1 rank(s))" in p.stderr, p.stderr
    assert "with 1 thread(s) per rank" in p.stdout, p.stdout

    # Two ranks on that one CPU share it: still one thread each, never two.
    threads, cpus = extract([mine[0]], np_=2)
    assert cpus == {"allowed": 1, "sharers": 2, "node_ranks": 2}, cpus
    assert threads["compute"] == 1, threads
    print(f"PASS: compute threads follow the affinity mask ({len(mine)} CPUs here; pinned: 1)")


def dedup_gets_threads():
    # extract --dedup runs the join on extract's --threads, not on a count of its own:
    # more threads than this machine's CPUs, which no default would give.
    mine = sorted(os.sched_getaffinity(0))
    threads = len(mine) + 1
    out = os.path.join(WORK, "dedup_threads.h5")
    if os.path.exists(out):
        os.remove(out)
    p = run(["extract", "--input", f"dir:{PHOTOS}/darknet", "--model", TINY, "--output", out,
             "--batch", "4", "--threads", str(threads), "--dedup"], np_=1)
    assert f"{threads} compute" in p.stderr, p.stderr
    assert f"with {threads} thread(s) per rank" in p.stdout, p.stdout
    print(f"PASS: extract --dedup --threads {threads}: the join ran on {threads} threads")


def decode_balance():
    # Without --decode-threads a rank starts as many decode threads as compute threads,
    # lets half decode at first, and balances the rest from the measured CPU costs: on
    # photos that cost far more to decode than the tiny model costs to run (large noisy
    # PNGs), both decode. With --decode-threads the split is fixed.
    import cv2
    src = os.path.join(WORK, "balance_src")
    photos = os.path.join(WORK, "balance")
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(photos, ignore_errors=True)
    os.makedirs(src)
    os.makedirs(photos)
    rng = np.random.default_rng(7)
    for i in range(4):
        cv2.imwrite(os.path.join(src, f"noise{i}.png"), rng.integers(0, 256, (900, 1200, 3), dtype=np.uint8))
    for i in range(160):  # links: many records, little disk
        os.link(os.path.join(src, f"noise{i % 4}.png"), os.path.join(photos, f"p{i:03d}.png"))
    metrics = os.path.join(WORK, "balance-metrics.json")
    out = os.path.join(WORK, "balance.h5")

    def extract(extra):
        if os.path.exists(out):
            os.remove(out)
        p = run(["extract", "--input", f"dir:{photos}", "--model", TINY, "--batch", "4", "--threads", "2",
                 "--output", out, "--metrics-json", metrics] + extra)
        return p, json.load(open(metrics))

    p, m = extract([])
    t = m["threads_per_rank"]
    assert t["decode"] == 1 and t["decode_started"] == 2 and t["decode_balanced"] is True, t
    active = m["per_rank"][0]["decode_active"]
    assert active["fewest"] == 1 and active["most"] == 2, (active, m)
    assert "2 decode threads (1 decoding at first, balanced from measured costs)" in p.stderr, p.stderr
    assert "decode threads: 2 started per rank, 1 to 2 decoding at once" in p.stdout, p.stdout
    assert m["ok"] == 160, m

    p, m = extract(["--decode-threads", "1"])
    t = m["threads_per_rank"]
    assert t["decode"] == 1 and t["decode_started"] == 1 and t["decode_balanced"] is False, t
    assert m["per_rank"][0]["decode_active"] == {"last": 1, "fewest": 1, "most": 1}, m
    assert "decode threads:" not in p.stdout, p.stdout
    assert "2 compute + 1 decode threads (rank 0" in p.stderr, p.stderr
    print(f"PASS: decode threads balanced to {active} on decode-heavy photos; fixed with --decode-threads")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
