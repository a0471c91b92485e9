#!/usr/bin/python3
"""Crafted run files against the readers of `dedup`, `report` and `dedup --against`
(run by CTest; one case per invocation, `setup` first).

A small real run (the generated test model on darknet's photos, two of them byte copies,
so /dedup has groups and pairs) is copied and damaged with h5py in one way per case: an
attribute with 8 or 2000 elements or of the wrong class, a 1-D or out-of-range
/dedup/pairs, group ids past the rows, a key_length past the key width, an embedding of
another width than embedding_dim, ... Each command that reads the damaged object must
exit 1 with one clear message naming it; no command may die of a signal, print a
sanitizer report or hang. One case (`old_format`) rewrites the whole file in the older
format without checksums, which every reader refuses with the command that converts it.
Exit status 0 = pass.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from h5_format import unchecksummed  # noqa: E402

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
MODEL_DIR = os.path.join(WORK, "model")
TINY = os.path.join(MODEL_DIR, "tiny_embed.onnx")
PHOTOS = os.path.join(WORK, "photos")
BASE = os.path.join(WORK, "base.h5")      # a complete run with /dedup
FRESH = os.path.join(WORK, "fresh.h5")    # the input of `dedup --against CASE`, copied per case
TIMEOUT = int(os.environ.get("PM_TIMEOUT", "120"))  # seconds per command


def run(args, np_=1):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        sys.exit(f"FAIL: {' '.join(cmd)} did not finish in {TIMEOUT} s (a hang)")


def setup():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(MODEL_DIR)
    os.makedirs(PHOTOS)
    subprocess.run([BIN, "model", "make-test", "--out", MODEL_DIR], check=True,
                   env=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1"))
    darknet = "/usr/share/darknet/data"
    for name in ["dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg"]:
        shutil.copy(os.path.join(darknet, name), PHOTOS)
    # Byte copies: an exact group and a near pair (cosine 1) whatever the model.
    shutil.copy(os.path.join(darknet, "dog.jpg"), os.path.join(PHOTOS, "dog_copy.jpg"))
    shutil.copy(os.path.join(darknet, "kite.jpg"), os.path.join(PHOTOS, "kite_copy.jpg"))
    for path in (BASE, FRESH):
        p = run(["extract", "--input", f"dir:{PHOTOS}", "--model", TINY, "--output", path,
                 "--batch", "4", "--threads", "1", "--quiet", "--dedup", "--threshold", "0.99"])
        assert p.returncode == 0, f"setup run failed:\n{p.stdout}\n{p.stderr}"
    with h5py.File(BASE, "r") as f:
        assert f["/dedup/pairs"].shape[0] >= 2, "the setup run found no pairs"
        assert (f["/images/status"][:] == 0).all(), "the setup run has failed rows"
    # What extract and dedup wrote is checksummed throughout, so damage is refused by
    # libhdf5's checksum check before its parsers read it (src/sink/hdf5/h5_file.h).
    problems = unchecksummed(BASE)
    assert not problems, "the setup run wrote structures without checksums: " + "; ".join(problems)
    print(f"PASS: setup ({BASE})")


def vlen_str():
    return h5py.string_dtype(encoding="utf-8")


# Each case: (damage(f), expected text, commands that read the damaged object). A
# command not listed may succeed (it does not read that object) but must not crash.
def threshold_array(f):
    # Eight doubles whose bytes look like return addresses: the stack overwrite of old.
    f["/dedup"].attrs.create("threshold", np.full(8, 4.9e-310, dtype=np.float64))


def threshold_string(f):
    f["/dedup"].attrs.create("threshold", "0.5", dtype=vlen_str())


def model_card_fixed_2000(f):
    f.attrs.create("model_card", np.array([b'{"dedup":{}}'] * 2000, dtype="S24"))


def model_card_vlen_2000(f):
    f.attrs.create("model_card", ['{"dedup":{"threshold":0.5}}'] * 2000, dtype=vlen_str())


def model_card_bytes(f):
    # A variable-length sequence of bytes: not a string at all.
    dt = h5py.vlen_dtype(np.uint8)
    a = np.empty((), dtype=dt)
    a[()] = np.frombuffer(b'{"dedup":{}}', dtype=np.uint8)
    f.attrs.create("model_card", a, dtype=dt)


def pairs_1d(f):
    pairs = f["/dedup/pairs"][:].reshape(-1)
    del f["/dedup/pairs"]
    f.create_dataset("/dedup/pairs", data=pairs)


def pairs_negative(f):
    p = f["/dedup/pairs"]
    p[0, 0] = -1_000_000_000


def pairs_too_large(f):
    p = f["/dedup/pairs"]
    p[0, 1] = 1 << 40


def group_too_large(f):
    g = f["/dedup/group"]
    g[0] = g.shape[0] + 1000


def exact_group_negative(f):
    f["/dedup/exact_group"][1] = -7


def against_offsets(f):
    f["/dedup"].attrs.create(
        "against", '[{"path": "older.h5", "rows": -5, "offset": 3}]', dtype=vlen_str())


def join_precision_array(f):
    f["/dedup"].attrs.create("join_precision", ["bf16"] * 3000, dtype=vlen_str())


def add_detections(f, image):
    """A /detections group (extract --detector) whose objects name rows `image`."""
    n, dim = len(image), f["/images/embedding"].shape[1]
    g = f.create_group("/detections")
    g.create_dataset("image", data=np.array(image, dtype=np.int64))
    g.create_dataset("box", data=np.tile(np.array([[1, 1, 5, 5]], dtype=np.float32), (n, 1)))
    g.create_dataset("score", data=np.full(n, 0.9, dtype=np.float32))
    g.create_dataset("class", data=np.zeros(n, dtype=np.int32))
    e = np.zeros((n, dim), dtype=np.float32)
    e[:, 0] = 1
    g.create_dataset("embedding", data=e)
    g.attrs.create("classes", '["object"]', dtype=vlen_str())


def detections_image_outside(f):
    add_detections(f, [0, 1, 10 ** 12])


def crop_image_pairs_reversed(f):
    add_detections(f, [0, 1])
    g = f.create_group("/dedup_crops")
    g.create_dataset("group", data=np.array([0, 0], dtype=np.int64))
    g.create_dataset("image_pairs", data=np.array([[1, 0]], dtype=np.int64))
    g.create_dataset("image_score", data=np.array([0.9], dtype=np.float32))


def crop_group_outside(f):
    add_detections(f, [0, 1])
    g = f.create_group("/dedup_crops")
    g.create_dataset("group", data=np.array([0, 7], dtype=np.int64))
    g.create_dataset("image_pairs", data=np.zeros((0, 2), dtype=np.int64))
    g.create_dataset("image_score", data=np.zeros(0, dtype=np.float32))


def key_length_past_width(f):
    width = f["/images/key"].shape[1]
    f["/images/key_length"][0] = width + 100_000


def embedding_wider(f):
    e = f["/images/embedding"][:]
    del f["/images/embedding"]
    f.create_dataset("/images/embedding", data=np.hstack([e, e[:, :3]]))


def status_unknown(f):
    f["/images/status"][2] = 200


def regrouped_1d(f):
    n = f["/images/status"].shape[0]
    del f["/dedup/regrouped"]  # written empty by every dedup run
    f.create_dataset("/dedup/regrouped", data=np.array([n + 1, n], dtype=np.int64))


def regrouped_outside(f):
    # (row, group) of older rows, but the file has no older files: no id >= N is a row.
    n = f["/images/status"].shape[0]
    del f["/dedup/regrouped"]
    f.create_dataset("/dedup/regrouped", data=np.array([[n + 1, n]], dtype=np.int64))


def old_format(path):
    # The format without checksums (superblock 0, version 1 B-trees), as files written
    # before 2026-11-30 are: refused with the command that rewrites it.
    subprocess.run(["h5repack", "--low=0", "--high=2", path, path + ".old"], check=True)
    os.replace(path + ".old", path)


old_format.on_path = True


def add_index(f, lists, dim, value=0.5):
    g = f.require_group("/index")
    g.create_dataset("centroids", data=np.full((lists, dim), value, dtype=np.float32))
    g.create_dataset("list_sizes", data=np.ones(lists, dtype=np.int64))


def index_nan(f):
    add_index(f, 3, f["/images/embedding"].shape[1], np.nan)


def index_wrong_dim(f):
    add_index(f, 3, f["/images/embedding"].shape[1] + 1)


DEDUP = ["dedup", "--no-hbase-write", "--quiet"]
CASES = {
    # name: (damage, text the error names, commands that must fail)
    "threshold_array": (threshold_array, "'threshold'", ["report", "against"]),
    "threshold_string": (threshold_string, "'threshold'", ["report", "against"]),
    "model_card_fixed_2000": (model_card_fixed_2000, "'model_card'", ["dedup"]),
    "model_card_vlen_2000": (model_card_vlen_2000, "'model_card'", ["dedup"]),
    "model_card_bytes": (model_card_bytes, "'model_card'", ["dedup"]),
    "pairs_1d": (pairs_1d, "/dedup/pairs", ["report", "against"]),
    "pairs_negative": (pairs_negative, "/dedup/pairs", ["report"]),
    "pairs_too_large": (pairs_too_large, "/dedup/pairs", ["report"]),
    "group_too_large": (group_too_large, "/dedup/group", ["report", "against"]),
    "exact_group_negative": (exact_group_negative, "/dedup/exact_group", ["report"]),
    "against_offsets": (against_offsets, "'against'", ["report", "against"]),
    "join_precision_array": (join_precision_array, "'join_precision'", ["report", "against"]),
    "detections_image_outside": (detections_image_outside, "/detections/image", ["report", "crops"]),
    "crop_image_pairs_reversed": (crop_image_pairs_reversed, "/dedup_crops/image_pairs", ["report"]),
    "crop_group_outside": (crop_group_outside, "/dedup_crops/group", ["report"]),
    "key_length_past_width": (key_length_past_width, "/images/key_length",
                              ["dedup", "report", "against"]),
    "embedding_wider": (embedding_wider, "embedding_dim", ["dedup", "report", "against"]),
    "status_unknown": (status_unknown, "/images/status", ["dedup", "report", "against"]),
    "regrouped_1d": (regrouped_1d, "/dedup/regrouped", ["report", "against"]),
    "regrouped_outside": (regrouped_outside, "/dedup/regrouped", ["against"]),
    "index_nan": (index_nan, "/index/centroids", ["against_ivf"]),
    "index_wrong_dim": (index_wrong_dim, "/index/centroids", ["against_ivf"]),
    "old_format": (old_format, "h5repack --low=2 --high=2 -c 4096 -d 4096", ["dedup", "report", "against", "against_ivf"]),
}


def commands(path):
    return {
        "dedup": DEDUP + ["--input", path],                    # the card's threshold: reads model_card
        "report": ["report", "--input", path, "--out", path + ".html"],
        "crops": DEDUP + ["--input", path, "--on", "crops"],
        "against": DEDUP + ["--input", path + ".fresh.h5", "--against", path, "--threshold", "0.99"],
        # Reuses the older file's lists (/index).
        "against_ivf": DEDUP + ["--input", path + ".fresh.h5", "--against", path, "--threshold", "0.99",
                                "--index", "ivf", "--lists", "2", "--probe", "2"],
    }


def damaged_copy(name):
    # A fresh copy for every command: `dedup --input` rewrites /dedup, repairing it.
    damage = CASES[name][0]
    path = os.path.join(WORK, name + ".h5")
    shutil.copy(BASE, path)
    shutil.copy(FRESH, path + ".fresh.h5")  # cases may run in parallel: one each
    if getattr(damage, "on_path", False):
        damage(path)
        return path
    with h5py.File(path, "r+") as f:
        damage(f)
    return path


def check_case(name):
    _, text, must_fail = CASES[name]
    problems = []
    for cmd_name in commands(""):
        # `report` runs on one rank; dedup also at two, where every rank reads.
        for np_ in ([1] if cmd_name == "report" else [1, 2]):
            path = damaged_copy(name)
            p = run(commands(path)[cmd_name], np_)
            said = f"{cmd_name} (np={np_}) exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
            out = p.stdout + p.stderr
            for bad in ("Sanitizer", "stack smashing", "signal", "Segmentation", "core dumped",
                        "unexpected error", "MPI_ABORT", "free(): ", "malloc(): "):
                if bad in out:
                    problems.append(f"'{bad}' in the output of {said}")
            if p.returncode not in (0, 1):
                problems.append(f"not a clean exit: {said}")
            elif cmd_name in must_fail:
                if p.returncode != 1:
                    problems.append(f"accepted the damaged file: {said}")
                elif text not in p.stderr or path not in p.stderr:
                    problems.append(f"the message does not name {text!r} and the file: {said}")
                elif p.stderr.count("error:") != 1:
                    problems.append(f"not one message: {said}")
    if problems:
        sys.exit(f"FAIL: {name}:\n" + "\n\n".join(problems))
    # The message a user sees, once per case, for the log.
    p = run(commands(damaged_copy(name))[must_fail[0]])
    said = [line for line in p.stderr.splitlines() if "error:" in line]
    print(f"PASS: {name}: {said[0] if said else p.stderr}")


def conversion():
    # The command that the refusal of an older file names converts it into one that every
    # reader takes, with the same rows and groups.
    path = os.path.join(WORK, "conversion.h5")
    shutil.copy(BASE, path)
    old_format(path)
    p = run(commands(path)["report"])
    assert p.returncode == 1, f"the older format was read:\n{p.stdout}\n{p.stderr}"
    line = p.stderr[p.stderr.index("h5repack"):].split("\n")[0].replace("NEW.h5", path + ".new.h5")
    subprocess.run(line.split(), check=True)
    converted = path + ".new.h5"
    with h5py.File(BASE, "r") as a, h5py.File(converted, "r") as b:
        for name in ("/images/key", "/images/embedding", "/dedup/group", "/dedup/pairs"):
            assert np.array_equal(a[name][()], b[name][()]), f"{name} changed in the conversion"
    for name in ("report", "against", "dedup"):
        shutil.copy(FRESH, converted + ".fresh.h5")
        p = run(commands(converted)[name])
        assert p.returncode == 0, f"{name} refused the converted file:\n{p.stdout}\n{p.stderr}"
    print(f"PASS: conversion: `{line}` made a file that report, dedup and dedup --against read")


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    elif sys.argv[1] == "conversion":
        conversion()
    else:
        check_case(sys.argv[1])
