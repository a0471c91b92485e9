#!/usr/bin/python3
"""`pixelmill search` through the binary under mpirun, with the project's model.

A run of Debian's photos (extract, then dedup --index ivf); queries are edited copies of
three of its photos (a JPEG-40 centre crop, a one-third-size copy, a colour change), a photo
that is not in the run, and a file that is not an image. Checks: every edited copy finds
its photo first; the outsider finds nothing at the card's threshold; the broken file is
reported with its status; the hits are the same at 1 and 3 ranks, and with every list
probed the same as scoring every row; --output holds the same hits; queries embedded with
another model are refused with a message naming --model.
"""
import json
import os
import shutil
import subprocess
import sys

import cv2
import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
ROOT = os.environ["PM_ROOT"]
MODEL = os.path.join(ROOT, "models", "sscd_distilled.onnx")
DARKNET = "/usr/share/darknet/data"
OPENCV = "/usr/share/doc/opencv-doc/examples/data"


def fail(msg):
    sys.exit("FAIL: " + msg)


def run(args, np_=2, check=True):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if check and p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def hits(stdout):
    return {j["query"]: j for j in (json.loads(line) for line in stdout.splitlines())}


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    photos, queries = os.path.join(WORK, "photos"), os.path.join(WORK, "queries")
    os.makedirs(photos)
    os.makedirs(queries)
    names = ["dog", "eagle", "giraffe", "horses", "kite", "person", "scream", "baboon", "building",
             "apple", "home", "fruits"]
    for n in names:
        for d in (DARKNET, OPENCV):
            if os.path.exists(os.path.join(d, n + ".jpg")):
                shutil.copy(os.path.join(d, n + ".jpg"), photos)
    if len(os.listdir(photos)) < 10:
        fail(f"too few photos of darknet and opencv-doc: {os.listdir(photos)}")
    dog, eagle, kite = (cv2.imread(os.path.join(photos, n + ".jpg")) for n in ("dog", "eagle", "kite"))
    h, w = dog.shape[:2]
    cv2.imwrite(os.path.join(queries, "dog-centre.jpg"), dog[h // 10: h * 9 // 10, w // 10: w * 9 // 10],
                [cv2.IMWRITE_JPEG_QUALITY, 40])
    cv2.imwrite(os.path.join(queries, "eagle-small.jpg"), cv2.resize(eagle, (eagle.shape[1] // 3, eagle.shape[0] // 3)))
    hsv = cv2.cvtColor(kite, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + 8) % 180
    cv2.imwrite(os.path.join(queries, "kite-colour.jpg"), cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR))
    outsider = os.path.join(OPENCV, "messi5.jpg")
    if not os.path.exists(outsider):
        fail(f"{outsider} is missing (opencv-doc)")
    shutil.copy(outsider, os.path.join(queries, "outsider.jpg"))
    with open(os.path.join(queries, "broken.jpg"), "wb") as f:
        f.write(b"not an image")

    run_file = os.path.join(WORK, "run.h5")
    run(["extract", "--input", "dir:" + photos, "--model", MODEL, "--output", run_file, "--quiet"])
    run(["dedup", "--input", run_file, "--index", "ivf", "--lists", "3", "--probe", "1", "--quiet"])
    base = ["search", "--index", run_file, "--input", "dir:" + queries, "--top", "3"]
    got = {}
    for np_ in (1, 3):
        for mode in ([], ["--probe", "3"], ["--exhaustive"]):
            p = run(base + ["--threshold", "0.65"] + mode, np_)
            got[(np_, tuple(mode))] = hits(p.stdout)
            want_src = "its IVF lists" if not mode or mode[0] == "--probe" else "every row"
            if want_src not in p.stderr:
                fail(f"search {mode} at {np_} ranks did not say it used {want_src}: {p.stderr}")
    first = got[(1, ())]
    for query, photo in (("dog-centre.jpg", "dog.jpg"), ("eagle-small.jpg", "eagle.jpg"),
                         ("kite-colour.jpg", "kite.jpg")):
        h1 = first[query]["hits"]
        if not h1 or h1[0]["key"] != photo:
            fail(f"{query} found {h1}, not {photo} first")
        if h1[0]["group_key"] != photo or not 0.65 <= h1[0]["cosine"] <= 1.0:
            fail(f"{query}'s hit has group {h1[0].get('group_key')} and cosine {h1[0]['cosine']}")
    if first["outsider.jpg"]["hits"]:
        fail(f"a photo that is not in the run found {first['outsider.jpg']['hits']}")
    if first["broken.jpg"]["status"] != "corrupt" or first["broken.jpg"]["hits"]:
        fail(f"the broken query gave {first['broken.jpg']}")
    if got[(3, ())] != first or got[(3, ("--probe", "3"))] != got[(1, ("--probe", "3"))]:
        fail("the hits differ between 1 and 3 ranks")
    if got[(1, ("--probe", "3"))] != got[(1, ("--exhaustive",))] or got[(3, ("--exhaustive",))] != got[(1, ("--exhaustive",))]:
        fail("with every list probed the hits differ from scoring every row")

    out = os.path.join(WORK, "queries.h5")
    p = run(base + ["--output", out], 2)
    printed = hits(p.stdout)
    with h5py.File(out, "r") as f:
        lens = f["/images/key_length"][:]
        keys = [bytes(f["/images/key"][i][: lens[i]]).decode() for i in range(len(lens))]
        rows, cos = f["/search/row"][:], f["/search/cosine"][:]
    for i, k in enumerate(keys):
        want = [hit["row"] for hit in printed[k]["hits"]]
        if list(rows[i][: len(want)]) != want or (rows[i][len(want):] != -1).any():
            fail(f"/search/row of {k} is {rows[i]}, printed {want}")
        if not np.allclose(cos[i][: len(want)], [hit["cosine"] for hit in printed[k]["hits"]]):
            fail(f"/search/cosine of {k} differs from the printed hits")

    # Queries embedded with another model cannot be compared with the run's rows.
    tiny_dir = os.path.join(WORK, "tiny")
    subprocess.run([BIN, "model", "make-test", "--out", tiny_dir], check=True, capture_output=True,
                   env=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1"))
    p = run(base + ["--model", os.path.join(tiny_dir, "tiny_embed.onnx")], 2, check=False)
    if p.returncode != 1 or "--model" not in p.stderr or "MPI_ABORT" in p.stderr:
        fail(f"another model's queries: exit {p.returncode}\n{p.stderr}")
    print("PASS: edited copies find their photos first, at 1 and 3 ranks, with the lists and "
          "without; the outsider finds nothing; the broken file is reported; --output matches")


if __name__ == "__main__":
    main()
