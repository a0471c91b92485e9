#!/usr/bin/python3
"""`pixelmill extract --detector` end to end (run by CTest; one check per invocation).

The scenes are generated: real face photos from Debian packages (grace_hopper, astronaut,
messi5) pasted at seeded positions and scales onto seeded backgrounds, so that CenterFace
finds objects in most of them, plus a few files that are not images. The crop model is
the engine's generated test model (fast); the detector the real CenterFace.

  ranks_agree          np = 1, 2, 3 with a checkpoint round after every split (rounds out of
                       split order): the same /detections; each object inside its image, on
                       an ok row, best first, at most --max-crops; boxes the same as
                       `pixelmill model detect` gives for the file.
  sigterm_then_resume  two ranks stopped by SIGTERM part way, then --resume: the same
                       /detections as an uninterrupted run.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import cv2
import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.environ["PM_WORK"]
ROOT = os.environ["PM_ROOT"]
DETECTOR = os.path.join(ROOT, "models", "centerface.json")
FACES = ["/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
         "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
         "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"]
MAX_CROPS = 4
EXIT_STOPPED = 75
ENV = dict(os.environ, OMP_NUM_THREADS="1")

sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "extract"))
from resume_tests import rank_pids  # noqa: E402  (the ranks under mpirun, to signal them)


def tiny_model():
    model_dir = os.path.join(WORK, "model")
    path = os.path.join(model_dir, "tiny_embed.onnx")
    if not os.path.exists(path):
        os.makedirs(model_dir, exist_ok=True)
        subprocess.run([BIN, "model", "make-test", "--out", model_dir], check=True, env=ENV,
                       capture_output=True)
    return path


def make_scenes(folder, count, seed=7):
    """`count` 640x480 JPEG scenes with 1-3 pasted face photos each, and two bad files."""
    if os.path.isdir(folder) and len(os.listdir(folder)) == count + 2:
        return
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    faces = [cv2.imread(p, cv2.IMREAD_COLOR) for p in FACES]
    rng = np.random.default_rng(seed)
    for i in range(count):
        bg = rng.integers(0, 256, size=(1, 1, 3)) * np.ones((480, 640, 3))
        bg = np.clip(bg + rng.normal(0, 12, size=bg.shape), 0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            src = faces[int(rng.integers(0, len(faces)))]
            scale = float(rng.uniform(0.3, 0.6))
            w, h = max(8, int(src.shape[1] * scale)), max(8, int(src.shape[0] * scale))
            w, h = min(w, 600), min(h, 440)
            patch = cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)
            x, y = int(rng.integers(0, 640 - w + 1)), int(rng.integers(0, 480 - h + 1))
            bg[y:y + h, x:x + w] = patch
        cv2.imwrite(os.path.join(folder, f"scene{i:04d}.jpg"), bg, [cv2.IMWRITE_JPEG_QUALITY, 92])
    with open(os.path.join(folder, "zz_not_an_image.jpg"), "wb") as f:
        f.write(b"not an image at all")
    open(os.path.join(folder, "zz_empty.jpg"), "wb").close()


def extract_cmd(np_, folder, out, extra=(), batch=4):
    return [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN, "extract",
            "--input", f"dir:{folder}", "--model", tiny_model(), "--output", out,
            "--detector", DETECTOR, "--max-crops", str(MAX_CROPS), "--batch", str(batch),
            "--threads", "1", "--decode-threads", "1", *extra]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def read(path):
    with h5py.File(path, "r") as f:
        n = f["/images/status"].shape[0]
        lens = f["/images/key_length"][:]
        d = f["/detections"]
        return {
            "keys": [bytes(f["/images/key"][i][: lens[i]]).decode() for i in range(n)],
            "status": f["/images/status"][:],
            "width": f["/images/width"][:],
            "height": f["/images/height"][:],
            "image": d["image"][:],
            "box": d["box"][:],
            "score": d["score"][:],
            "class": d["class"][:],
            "embedding": d["embedding"][:],
            "classes": json.loads(d.attrs["classes"]),
            "complete": int(f.attrs["complete"]),
        }


def same_detections(a, b, what):
    assert a["keys"] == b["keys"], f"{what}: keys differ"
    assert (a["image"] == b["image"]).all(), f"{what}: /detections/image differs"
    assert (a["class"] == b["class"]).all(), f"{what}: classes differ"
    for k in ("box", "score", "embedding"):
        diff = float(np.abs(a[k] - b[k]).max()) if len(a[k]) else 0.0
        assert diff <= 1e-4, f"{what}: /detections/{k} differs by {diff}"


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def ranks_agree():
    folder = os.path.join(WORK, "scenes")
    make_scenes(folder, 24)
    outs = {}
    for n in (1, 2, 3):
        path = os.path.join(WORK, f"det_np{n}.h5")
        # A round whenever a rank holds any finished split: many rounds, out of split order.
        run(extract_cmd(n, folder, path, ["--checkpoint-mb", "0.000001", "--quiet"]))
        outs[n] = read(path)
    base = outs[1]
    assert base["complete"] == 1
    assert base["classes"] == ["face"], base["classes"]
    rows = len(base["keys"])
    with_objects = len(set(base["image"].tolist()))
    assert len(base["image"]) >= 24 and with_objects >= 16, \
        f"{len(base['image'])} objects in {with_objects} of 24 scenes: the check would prove little"
    assert (np.diff(base["image"]) >= 0).all(), "/detections is not in row order"
    for j, r in enumerate(base["image"]):
        assert 0 <= r < rows and base["status"][r] == 0, f"object {j} names row {r} (not an ok row)"
        x0, y0, x1, y1 = base["box"][j]
        assert 0 <= x0 < x1 <= base["width"][r] and 0 <= y0 < y1 <= base["height"][r], \
            f"object {j}: box {base['box'][j]} outside its {base['width'][r]}x{base['height'][r]} image"
    counts = np.bincount(base["image"], minlength=rows)
    assert counts.max() <= MAX_CROPS, f"an image has {counts.max()} objects, --max-crops {MAX_CROPS}"
    for r in range(rows):
        s = base["score"][base["image"] == r]
        assert (np.diff(s) <= 0).all(), f"row {r}: objects not best first"
        if base["keys"][r].startswith("zz_"):
            assert base["status"][r] != 0 and counts[r] == 0, f"bad file {base['keys'][r]} has objects"
    norms = np.linalg.norm(base["embedding"], axis=1)
    assert np.allclose(norms, 1, atol=1e-4), f"crop embeddings not unit length: {norms.min()}"
    for n in (2, 3):
        same_detections(outs[n], base, f"np={n}")

    # The same boxes as the single-image tool.
    files = [os.path.join(folder, k) for k in base["keys"] if not k.startswith("zz_")]
    p = run([BIN, "model", "detect", "--model", DETECTOR, "--max-detections", str(MAX_CROPS),
             "--image", *files])
    tool = {os.path.basename(json.loads(l)["image"]): json.loads(l)["detections"]
            for l in p.stdout.splitlines() if l.strip()}
    for r, key in enumerate(base["keys"]):
        if key.startswith("zz_"):
            continue
        mine = base["box"][base["image"] == r]
        theirs = [d["box"] for d in tool[key]]
        assert len(mine) == len(theirs), f"{key}: extract found {len(mine)} objects, model detect {len(theirs)}"
        for a, b in zip(mine, theirs):
            assert iou(a, b) >= 0.99, f"{key}: extract box {a} vs model detect {b}"
    print(f"PASS: {rows} rows, {len(base['image'])} objects in {with_objects} images; np=1,2,3 agree; "
          f"boxes as `model detect`")


def sigterm_then_resume():
    folder = os.path.join(WORK, "many_scenes")
    count = 160
    partial = os.path.join(WORK, "det_stopped.h5")
    for attempt in range(3):
        make_scenes(folder, count, seed=11)
        if os.path.exists(partial):
            os.remove(partial)
        p = subprocess.Popen(extract_cmd(2, folder, partial, ["--progress-seconds", "0.2",
                                                              "--checkpoint-mb", "0.000001"], batch=1),
                             stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
        signalled = False
        for line in p.stderr:
            m = re.search(r"extract: (\d+)/(\d+)", line)
            if not signalled and m and int(m.group(1)) >= count // 4:
                # As Slurm does: every rank gets SIGTERM (mpirun would kill them instead).
                pids = rank_pids(p.pid)
                if len(pids) == 2:
                    for pid in pids:
                        os.kill(pid, signal.SIGTERM)
                    signalled = True
        p.wait()
        p.stdout.read()
        if signalled and p.returncode == EXIT_STOPPED:
            break
        print(f"run of {count} scenes: signalled={signalled}, exit {p.returncode}; retrying with more")
        count *= 2
    else:
        sys.exit("FAIL: the run could not be stopped part way")
    with h5py.File(partial, "r") as f:
        assert f.attrs["complete"] == 0
        done = f["/progress/split_done"][:]
        staged = int(f.attrs["staged_detections"])
    assert 0 < done.sum() < len(done), f"expected some splits done: {done}"
    # The same detector file under an edited card (here only its description) is another
    # detection: --resume refuses to mix the two in one file.
    edited = os.path.join(WORK, "edited_card")
    os.makedirs(edited, exist_ok=True)
    with open(DETECTOR) as f:
        card = json.load(f)
    card["description"] += " (edited)"
    with open(os.path.join(edited, "centerface.json"), "w") as f:
        json.dump(card, f)
    if not os.path.exists(os.path.join(edited, card["file"])):
        os.symlink(os.path.join(ROOT, "models", card["file"]), os.path.join(edited, card["file"]))
    cmd = extract_cmd(2, folder, partial, ["--resume", "--quiet"], batch=1)
    cmd[cmd.index(DETECTOR)] = os.path.join(edited, "centerface.json")
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    assert p.returncode != 0 and "detection (--detector and its flags)" in p.stderr, \
        f"--resume under an edited detector card: exit {p.returncode}\n{p.stderr}"
    run(extract_cmd(2, folder, partial, ["--resume", "--quiet"], batch=1))
    full = os.path.join(WORK, "det_uninterrupted.h5")
    run(extract_cmd(2, folder, full, ["--quiet"], batch=1))
    a, b = read(partial), read(full)
    assert a["complete"] == 1
    same_detections(a, b, "resumed vs uninterrupted")
    print(f"PASS: stopped with {int(done.sum())}/{len(done)} splits and {staged} objects; "
          f"resumed to {len(a['image'])} objects, the same as an uninterrupted run")


def dedup_crops():
    """dedup --on crops at 1, 2 and 3 ranks against a numpy oracle: the object pairs at or
    above the threshold (all pairs, brute force), their components, and the image pairs
    (two different images with a pair of objects between them, best score)."""
    folder = os.path.join(WORK, "scenes")
    make_scenes(folder, 24)
    base = os.path.join(WORK, "crops.h5")
    run(extract_cmd(2, folder, base, ["--quiet"]))
    with h5py.File(base, "r") as f:
        emb = f["/detections/embedding"][:].astype(np.float64)
        image = f["/detections/image"][:]
    threshold = 0.97
    sims = emb @ emb.T
    n = len(image)
    want_pairs = {(i, j) for i in range(n) for j in range(i + 1, n) if sims[i, j] >= threshold}
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for i, j in want_pairs:
        a, b = find(i), find(j)
        parent[max(a, b)] = min(a, b)
    want_group = [min(k for k in range(n) if find(k) == find(i)) for i in range(n)]
    want_images = {}
    for i, j in want_pairs:
        if image[i] != image[j]:
            key = (min(image[i], image[j]), max(image[i], image[j]))
            want_images[key] = max(want_images.get(key, -2.0), sims[i, j])
    assert 0 < len(want_images) < len(set(image)) * (len(set(image)) - 1) // 2, \
        f"{len(want_images)} image pairs: pick another threshold for a meaningful check"
    for ranks in (1, 2, 3):
        path = os.path.join(WORK, f"crops_np{ranks}.h5")
        shutil.copy(base, path)
        run([MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(ranks), BIN, "dedup", "--input", path,
             "--on", "crops", "--threshold", str(threshold), "--quiet"])
        with h5py.File(path, "r") as f:
            g = f["/dedup_crops"]
            pairs = {tuple(p) for p in g["pairs"][:].tolist()}
            group = g["group"][:].tolist()
            ip = g["image_pairs"][:].tolist()
            iscore = g["image_score"][:]
            assert "/dedup" not in f, "dedup --on crops wrote /dedup"
        # Scores within 1e-5 of the threshold may fall either way between float orders.
        near = {p for p in want_pairs ^ pairs if abs(sims[p] - threshold) > 1e-5}
        assert not near, f"np={ranks}: object pairs differ from the oracle: {sorted(near)[:5]}"
        assert group == want_group, f"np={ranks}: groups differ from the oracle"
        got_images = {tuple(p): s for p, s in zip(ip, iscore)}
        assert set(got_images) == set(want_images), f"np={ranks}: image pairs differ from the oracle"
        for k, v in want_images.items():
            assert abs(got_images[k] - v) <= 1e-5, f"np={ranks}: image pair {k} score {got_images[k]} vs {v}"
        assert ip == sorted(ip), f"np={ranks}: image pairs not in order"
    # The report draws the objects on the thumbnails and shows the image pairs.
    path = os.path.join(WORK, "crops_np1.h5")
    run([BIN, "dedup", "--input", path, "--quiet"])
    html = os.path.join(WORK, "report.html")
    p = run([BIN, "report", "--input", path, "--out", html, "--max-groups", "7"])
    m = re.search(r"(\d+) object boxes drawn, (\d+) object groups, (\d+) image pairs sharing an object", p.stdout)
    want_groups = len({g for i, g in enumerate(want_group) if g != i})
    assert m and int(m.group(1)) > 0 and int(m.group(2)) == min(7, want_groups) and \
        int(m.group(3)) == min(7, len(want_images)), p.stdout
    with open(html) as f:
        text = f.read()
    assert f"Images that share an object ({min(7, len(want_images))} of {len(want_images)} pairs" in text, \
        "the report has no section of image pairs that share an object"
    assert f"Object groups, largest first ({min(7, want_groups)} of {want_groups} groups" in text, \
        "the report has no section of object groups"
    print(f"PASS: {n} objects, {len(want_pairs)} object pairs, {len(want_images)} image pairs; "
          f"np=1,2,3 equal the numpy oracle; the report draws {m.group(1)} boxes, {m.group(2)} object groups "
          f"and {m.group(3)} image pairs")


def flag_errors():
    """Each wrong use of the detection flags is refused before any work, with a message
    that names what is wrong, and writes nothing."""
    folder = os.path.join(WORK, "scenes")
    make_scenes(folder, 24)
    out = os.path.join(WORK, "flags.h5")
    sscd = os.path.join(ROOT, "models", "sscd_distilled.json")
    cases = [
        (["--detector", tiny_model()], "is an embedding model"),
        (["--detector", DETECTOR, "--crop-model", DETECTOR], "is a detector; crops need an embedding model"),
        (["--detector", DETECTOR, "--classes", "face,cat"], "'cat' is not a class of the detector"),
        (["--detector", DETECTOR, "--max-crops", "0"], "--max-crops must be in 1..1000"),
        (["--detector", DETECTOR, "--min-score", "1.5"], "--min-score must be in [0, 1]"),
        (["--detector", DETECTOR, "--crop-margin", "-0.1"], "--crop-margin must be in [0, 1]"),
        (["--crop-model", sscd], "--crop-model needs --detector"),
    ]
    for extra, want in cases:
        if os.path.exists(out):
            os.remove(out)
        cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "2", BIN, "extract",
               "--input", f"dir:{folder}", "--model", tiny_model(), "--output", out, *extra]
        p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
        assert p.returncode != 0 and want in p.stderr, f"{extra}: exit {p.returncode}, wanted '{want}':\n{p.stderr}"
        assert not os.path.exists(out), f"{extra}: an output was written"
    # A card that does not fit its model (CenterFace read at stride 8) fails at start, on
    # every rank, instead of making every row an inference_error.
    bad = os.path.join(WORK, "bad_card")
    os.makedirs(bad, exist_ok=True)
    with open(DETECTOR) as f:
        card = json.load(f)
    card["detector"]["strides"] = [8]
    with open(os.path.join(bad, "centerface.json"), "w") as f:
        json.dump(card, f)
    onnx = os.path.join(bad, card["file"])
    if not os.path.exists(onnx):
        os.symlink(os.path.join(ROOT, "models", card["file"]), onnx)
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "2", BIN, "extract", "--input",
           f"dir:{folder}", "--model", tiny_model(), "--output", out, "--detector", os.path.join(bad, "centerface.json")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode != 0 and "output '537' has shape" in p.stderr and not os.path.exists(out), \
        f"a detector card that does not fit its model: exit {p.returncode}\n{p.stderr}"
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "1", BIN, "extract", "--input",
           f"dir:{folder}", "--model", DETECTOR, "--output", out]
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode != 0 and "is a detector; give it as --detector" in p.stderr, p.stderr
    print(f"PASS: {len(cases) + 2} wrong uses refused with their message, nothing written")


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    {"ranks_agree": ranks_agree, "sigterm_then_resume": sigterm_then_resume,
     "flag_errors": flag_errors, "dedup_crops": dedup_crops}[sys.argv[1]]()
