#!/usr/bin/python3
"""End-to-end checks of `pixelmill extract --precision` (run by CTest; one check per
invocation), on the generated test model and a QDQ sibling of it made here by
`pixelmill model quantize`, with the int8 card it writes (include/pixelmill/model_card.h).

What a check expects of `auto` depends on this CPU: int8 where it has VNNI, else fp32
(the test cards do not allow bf16). ONEDNN_MAX_CPU_ISA=AVX512_CORE hides VNNI and bf16
from oneDNN, so the no-VNNI branch runs on any x86 machine that has AVX-512 at all, and
is checked wherever it can be.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

BIN = os.environ["PM_BIN"]
MPIEXEC = os.environ.get("PM_MPIEXEC", "mpirun")
WORK = os.path.abspath(os.environ["PM_WORK"])
ROOT = os.environ["PM_ROOT"]
TINY_DIR = os.path.join(WORK, "model")
PHOTOS = os.path.join(WORK, "photos")
DIR = os.path.join(WORK, "precision")
MODELS = os.path.join(DIR, "models")
FP32_CARD = os.path.join(MODELS, "tiny_embed.json")
INT8_CARD = os.path.join(MODELS, "tiny_embed.int8.json")
BARE_CARD = os.path.join(MODELS, "bare.json")  # the same model, no sibling
IMAGES = os.path.join(DIR, "images")
NO_VNNI = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


FLAGS = cpu_flags()
HAS_VNNI = bool(FLAGS & {"avx512_vnni", "avx_vnni", "amx_int8"})
HAS_BF16 = bool(FLAGS & {"avx512_bf16", "amx_bf16"})
HAS_AVX512 = "avx512f" in FLAGS


def run(args, np_=1, env=None):
    cmd = [MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), BIN] + args
    e = dict(os.environ, OMP_NUM_THREADS="1")
    if env:
        e.update(env)
    return subprocess.run(cmd, capture_output=True, text=True, env=e)


def ok(args, np_=1, env=None):
    p = run(args, np_, env)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def refused(args, words, env=None):
    """The command fails, on every rank together, with a message holding each of `words`."""
    p = run(args, 2, env)
    assert p.returncode != 0, f"{' '.join(args)} was accepted:\n{p.stderr}"
    for w in words:
        assert w in p.stderr, f"{' '.join(args)}: expected {w!r} in:\n{p.stderr}"
    return p


def extract(out, model=FP32_CARD, extra=(), env=None, np_=1):
    metrics = out + ".metrics.json"
    p = ok(["extract", "--input", f"dir:{IMAGES}", "--model", model, "--output", out,
            "--batch", "4", "--metrics-json", metrics] + list(extra), np_, env)
    with h5py.File(out, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        emb = f["/images/embedding"][:]
        status = f["/images/status"][:]
    with open(metrics) as f:
        m = json.load(f)
    return {"params": json.loads(attrs["parameters"]), "attrs": attrs, "embedding": emb,
            "status": status, "metrics": m, "stderr": p.stderr}


def setup():
    """The sibling pair: tiny_embed (fp32, its card naming the sibling) and its QDQ copy
    with an int8 card, calibrated on a few of the test photos."""
    shutil.rmtree(DIR, ignore_errors=True)
    os.makedirs(MODELS)
    os.makedirs(IMAGES)
    photos = sorted(os.path.join(d, n) for d, _, names in os.walk(os.path.join(PHOTOS, "darknet"))
                    for n in names if n.endswith(".jpg"))
    assert len(photos) >= 6, f"too few test photos: {photos}"
    for p in photos[:8]:
        shutil.copy(p, IMAGES)
    shutil.copy(os.path.join(TINY_DIR, "tiny_embed.onnx"), MODELS)
    with open(os.path.join(TINY_DIR, "tiny_embed.json")) as f:
        card = json.load(f)
    # The sibling as users make it: `pixelmill model quantize` on a few photos, every layer
    # int8 (the generated model's layers are all cheap to quantize), writing its own card.
    calib = os.path.join(DIR, "calibration.txt")
    with open(calib, "w") as f:
        f.write("".join(p + "\n" for p in photos[:7]))
    with open(FP32_CARD, "w") as f:
        json.dump(card, f, indent=2)
    qdq = os.path.join(MODELS, "tiny_embed.int8.onnx")
    subprocess.run([BIN, "model", "quantize", "--model", FP32_CARD, "--calibration", "list:" + calib,
                    "--images", "3", "--check-images", "4", "--target-cosine", "0", "--output", qdq],
                   check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    with open(BARE_CARD, "w") as f:
        json.dump(dict(card, name="bare"), f, indent=2)
    with open(INT8_CARD) as f:
        int8 = json.load(f)
    assert int8["sha256"] == sha256(qdq) and int8["quantization"]["from"]["sha256"] == card["sha256"], int8
    with open(FP32_CARD, "w") as f:
        json.dump(dict(card, quantized="tiny_embed.int8.json"), f, indent=2)
    print(f"setup: {qdq} and its card; VNNI here: {HAS_VNNI}")


def cosines(a, b, status):
    good = status == 0
    assert good.sum() >= 4, f"too few ok rows: {good.sum()}"
    x, y = a[good].astype(np.float64), b[good].astype(np.float64)
    return (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))


def auto_picks_int8():
    fp32 = extract(os.path.join(DIR, "fp32.h5"), extra=["--precision", "fp32"])
    p = fp32["params"]
    assert p["precision"] == "fp32" and p["precision_ran"] == "fp32", p
    assert p["model_file_ran"] == os.path.join(MODELS, "tiny_embed.onnx"), p
    assert fp32["attrs"]["model_sha256"] == sha256(os.path.join(MODELS, "tiny_embed.onnx"))
    assert "bf16" not in p, "the old bf16 parameter is still written"

    auto = extract(os.path.join(DIR, "auto.h5"), np_=2)  # auto is the default
    p, m = auto["params"], auto["metrics"]["precision"]
    assert p["precision"] == "auto" and m["requested"] == "auto", (p, m)
    qdq = os.path.join(MODELS, "tiny_embed.int8.onnx")
    if HAS_VNNI:
        assert p["precision_ran"] == "int8" and m["ran"] == "int8", (p, m)
        assert p["model_file_ran"] == qdq and p["model_file_ran_sha256"] == sha256(qdq), p
        assert auto["attrs"]["model_sha256"] == sha256(qdq), "the file records another model than ran"
        assert json.loads(auto["attrs"]["model_card"])["name"] == "tiny_embed_int8"
        want = "oneDNN int8 (auto: quantized sibling tiny_embed.int8.json, CPU has VNNI)"
        assert want in auto["stderr"], f"summary does not say {want!r}:\n{auto['stderr']}"
        c = cosines(auto["embedding"], fp32["embedding"], auto["status"])
        assert c.min() > 0.9, f"int8 embeddings far from fp32's: cosines {c}"
        assert c.min() < 0.999999, "int8 embeddings equal fp32's: the int8 file did not run"
        print(f"auto ran int8 on 2 ranks; cosine to fp32 min {c.min():.4f} median {np.median(c):.4f}")
    else:
        assert p["precision_ran"] == "fp32" and "no VNNI" in p["precision_reason"], p
        print("auto ran fp32 (this CPU has no VNNI)")
    # Explicit int8 runs the sibling with or without VNNI; where the CPU has no VNNI
    # (or oneDNN is told to use no more than AVX-512 core) a note says so.
    env = NO_VNNI if HAS_AVX512 else None
    int8 = extract(os.path.join(DIR, "int8.h5"), extra=["--precision", "int8"], env=env)
    p = int8["params"]
    assert p["precision_ran"] == "int8" and p["model_file_ran"] == qdq, p
    if env or not HAS_VNNI:
        assert "no VNNI" in int8["stderr"] and "note:" in int8["stderr"], int8["stderr"]
    c = cosines(int8["embedding"], fp32["embedding"], int8["status"])
    assert c.min() > 0.9, f"int8 (no VNNI) embeddings far from fp32's: cosines {c}"
    if env:
        # auto on a CPU without VNNI (as oneDNN sees it): fp32, and why.
        a = extract(os.path.join(DIR, "auto_no_vnni.h5"), env=env)
        p = a["params"]
        assert p["precision_ran"] == "fp32", p
        assert "quantized sibling tiny_embed.int8.json unused: the CPU has no VNNI" in p["precision_reason"], p
        d = np.abs(a["embedding"] - fp32["embedding"]).max()
        assert d < 1e-4, f"auto without VNNI is not the fp32 model: differs by {d}"
        print("without VNNI: auto ran fp32, int8 ran the sibling with a note")
    print("PASS: auto, fp32 and int8 ran what they say, and the file and metrics record it")


def auto_measures_int8_against_bf16():
    """A card that allows bf16 and names an int8 sibling: where the CPU runs both, auto times
    both at the job's batch size and runs the faster, the same on every rank; a resumed run
    keeps what it ran, without timing. Where it cannot run both, nothing is timed."""
    both = os.path.join(MODELS, "both.json")
    with open(FP32_CARD) as f:
        card = json.load(f)
    card["precisions"] = ["fp32", "bf16"]
    with open(both, "w") as f:
        json.dump(card, f, indent=2)
    qdq = os.path.join(MODELS, "tiny_embed.int8.onnx")
    own = os.path.join(MODELS, "tiny_embed.onnx")
    a = extract(os.path.join(DIR, "both.h5"), model=both, np_=2)
    p = a["params"]
    reason = p["precision_reason"]
    if not (HAS_VNNI and HAS_BF16):
        assert "measured" not in reason, p
        assert p["precision_ran"] == ("int8" if HAS_VNNI else "bf16" if HAS_BF16 else "fp32"), p
        print(f"PASS: this CPU cannot run both (VNNI {HAS_VNNI}, bf16 {HAS_BF16}): auto ran "
              f"{p['precision_ran']} without timing")
        return
    assert "measured faster" in reason and "img/s" in reason and "slowest rank" in reason, p
    if p["precision_ran"] == "int8":
        assert p["model_file_ran"] == qdq and "measured faster than bf16" in reason, p
    else:
        assert p["precision_ran"] == "bf16" and p["model_file_ran"] == own, p
        assert "measured faster than quantized sibling tiny_embed.int8.json in int8" in reason, p
    assert reason in a["stderr"], "the banner does not give the measured reason"
    # A stopped run (a finished one marked incomplete) continues at what it ran, whichever
    # the timing would favour now.
    for ran in ("int8", "bf16"):
        out = os.path.join(DIR, f"both_resume_{ran}.h5")
        extract(out, model=both, extra=["--precision", ran])
        with h5py.File(out, "r+") as f:
            f.attrs.modify("complete", 0)
        r = ok(["extract", "--input", f"dir:{IMAGES}", "--model", both, "--output", out, "--resume",
                "--batch", "4"], 2)
        assert "as the run being resumed" in r.stderr, r.stderr
        with h5py.File(out, "r") as f:
            assert int(f.attrs["complete"]) == 1
            assert json.loads(f.attrs["parameters"])["precision_ran"] == ran
    # As oneDNN sees a CPU with VNNI and no bf16: the sibling, nothing timed.
    n = extract(os.path.join(DIR, "both_no_bf16.h5"), model=both, env={"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"})
    assert n["params"]["precision_ran"] == "int8" and "measured" not in n["params"]["precision_reason"], n["params"]
    print(f"PASS: auto timed int8 and bf16 and ran {p['precision_ran']} ({reason}); resumed runs kept "
          f"int8 and bf16; without bf16 nothing was timed")


def refusals():
    stale = os.path.join(MODELS, "stale")
    shutil.rmtree(stale, ignore_errors=True)
    os.makedirs(stale)
    for name in ("tiny_embed.onnx", "tiny_embed.int8.onnx", "tiny_embed.json"):
        shutil.copy(os.path.join(MODELS, name), stale)
    with open(INT8_CARD) as f:
        int8 = json.load(f)
    int8["quantization"]["from"]["sha256"] = "ab" * 32
    with open(os.path.join(stale, "tiny_embed.int8.json"), "w") as f:
        json.dump(int8, f)
    out = os.path.join(DIR, "refused.h5")
    base = ["extract", "--input", f"dir:{IMAGES}", "--output", out]
    stale_card = os.path.join(stale, "tiny_embed.json")
    refused(base + ["--model", stale_card, "--precision", "int8"],
            ["was made from another model file", "ab" * 32, "quantize again"])
    if HAS_VNNI:
        refused(base + ["--model", stale_card], ["was made from another model file"])
    # ... but it is not in the way of fp32.
    ok(base + ["--model", stale_card, "--precision", "fp32", "--quiet"])
    refused(base + ["--model", FP32_CARD, "--bf16", "--precision", "int8"],
            ["--bf16 is --precision bf16", "--precision int8"])
    refused(base + ["--model", FP32_CARD, "--precision", "fp16"], ["auto, fp32, bf16 or int8", "'fp16'"])
    refused(base + ["--model", BARE_CARD, "--precision", "int8"],
            [BARE_CARD, "names no quantized sibling", "pixelmill model quantize"])
    refused(base + ["--model", INT8_CARD, "--precision", "fp32"], ["is an int8 card", "give the fp32 model's card"])
    # --bf16 is --precision bf16, alone or with it (fp32 where the CPU has no bf16).
    for extra in (["--bf16"], ["--bf16", "--precision", "bf16"]):
        r = extract(out, extra=extra)
        assert r["params"]["precision"] == "bf16", r["params"]
        want = "bf16" if HAS_BF16 else "fp32"
        assert r["params"]["precision_ran"] == want, (r["params"], want)
    print("PASS: stale sibling, --bf16 with int8, unknown precision, int8 without a sibling and "
          "fp32 on an int8 card refused; --bf16 is bf16")


def resume_other_precision():
    """A stopped run (here: a finished one marked incomplete) continues only at the
    precision it ran at; a file from before --precision ("bf16": false) as fp32."""
    first = os.path.join(DIR, "resume.h5")
    r = extract(first, extra=["--precision", "fp32"])
    with h5py.File(first, "r+") as f:
        f.attrs.modify("complete", 0)
    with open(first, "rb") as f:
        saved = f.read()
    base = ["extract", "--input", f"dir:{IMAGES}", "--model", FP32_CARD, "--output", first, "--resume"]
    if HAS_VNNI:  # auto is int8 here: another precision and another file
        refused(base, ["different run", "precision (--precision): 'fp32' in the file, 'int8' now",
                       "model sha256"])
    other = "bf16" if HAS_BF16 else "int8"
    refused(base + ["--precision", other],
            ["different run", f"precision (--precision): 'fp32' in the file, '{other}' now"])
    with open(first, "rb") as f:
        assert f.read() == saved, "the partial file changed after a refused --resume"
    # The same precision continues it (nothing is left to do but finish it).
    ok(base + ["--precision", "fp32", "--quiet"])
    with h5py.File(first, "r") as f:
        assert int(f.attrs["complete"]) == 1
    # A file from before --precision: "bf16": false, no precision_ran.
    with h5py.File(first, "r+") as f:
        params = json.loads(f.attrs["parameters"])
        for k in ("precision", "precision_ran", "precision_reason", "model_file_ran", "model_file_ran_sha256"):
            del params[k]
        params["bf16"] = False
        f.attrs["parameters"] = json.dumps(params)
        f.attrs.modify("complete", 0)
    refused(base + ["--precision", other],
            ["different run", f"precision (--bf16 then, --precision now): 'fp32' in the file, '{other}' now"])
    ok(base + ["--precision", "fp32", "--quiet"])
    print(f"PASS: --resume at another precision refused, file intact; same precision and an old "
          f"file continue ({len(r['status'])} rows)")


def search_uses_run_precision():
    """search embeds the queries as the run's model ran: an fp32 run of a card with a
    sibling is searched in fp32 even where auto would pick int8 (the model sha256 the
    queries record must be the run's)."""
    run_file = os.path.join(DIR, "search_run.h5")
    extract(run_file, extra=["--precision", "fp32"])
    p = ok(["search", "--index", run_file, "--input", f"dir:{IMAGES}", "--top", "1"])
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(os.listdir(IMAGES)), p.stdout
    for line in lines:
        if line["status"] == "ok":
            assert line["hits"][0]["cosine"] > 0.9999, line  # each image finds itself
    print(f"PASS: search of an fp32 run ran fp32 (VNNI here: {HAS_VNNI}); {len(lines)} queries found themselves")


def detector_networks():
    """With --detector each network resolves against its own card: an explicit int8 runs
    the crop model's sibling and the detector (CenterFace, no sibling) in fp32, with a
    note; a crop model without a sibling runs fp32 too. /detections records each."""
    detector = os.path.join(ROOT, "models", "centerface.json")
    out = os.path.join(DIR, "detect.h5")

    def detect(extra):
        p = ok(["extract", "--input", f"dir:{IMAGES}", "--model", FP32_CARD, "--detector", detector,
                "--output", out, "--batch", "4", "--max-crops", "2"] + extra, np_=2)
        with h5py.File(out, "r") as f:
            a = f["/detections"].attrs["parameters"]
            return json.loads(a.decode() if isinstance(a, bytes) else a), p.stderr

    det, err = detect(["--precision", "int8"])
    assert det["detector_precision_ran"] == "fp32" and det["crop_model_precision_ran"] == "int8", det
    assert det["crop_model_sha256"] == sha256(os.path.join(MODELS, "tiny_embed.int8.onnx")), det
    assert f"note: model card {detector} has no quantized sibling: it runs in fp32" in err, err
    det, err = detect(["--precision", "int8", "--crop-model", BARE_CARD])
    assert det["crop_model_precision_ran"] == "fp32", det
    assert f"note: model card {BARE_CARD} has no quantized sibling" in err, err
    det, err = detect(["--precision", "fp32"])
    assert det["detector_precision_ran"] == "fp32" and det["crop_model_precision_ran"] == "fp32", det
    assert "note:" not in err, err
    print("PASS: --detector: each network at its own card's precision, recorded in /detections")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
