#!/usr/bin/python3
"""Detector throughput (issue 13, item 6): each detector card on the engine against ONNX
Runtime on the same file, batch 1 (the files are exported at batch 1), input size of the
card, 1 and 2 threads, in one run; then `pixelmill extract` end to end on the same scenes
with detection on and off.

  bench_detect.py [--pixelmill BIN] [--runs 20] [--scenes 96] [--work DIR]

ONNX Runtime is timed with and without spinning intra-op threads; the better of the two
is its figure. The engine runs `pixelmill model bench` on the card (the card's input size;
CenterFace's placeholder declaration replaced as the engine does). Prints a Markdown
table; nothing is asserted (performance claims live here, never in tests)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "perf", "engine"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "detect"))
import pm_peers  # noqa: E402

CARDS = ["yolox_glyph_det", "picodet_layout_cdla", "centerface"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def card_of(name):
    with open(os.path.join(ROOT, "models", name + ".json")) as f:
        return json.load(f)


def ort_model(card, work):
    """The card's file for ONNX Runtime; CenterFace's placeholder input made symbolic."""
    path = os.path.join(ROOT, "models", card["file"])
    if card["name"] != "centerface":
        return path
    import onnx
    m = onnx.load(path)
    # Initializers listed as graph inputs (an old exporter's habit) keep ORT from folding
    # them: removed, as ORT's own warning advises, so that its figure is its best.
    names = {i.name for i in m.graph.initializer}
    keep = [i for i in m.graph.input if i.name not in names]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for v in list(m.graph.input[:1]) + list(m.graph.output):
        for i, d in enumerate(v.type.tensor_type.shape.dim):
            d.Clear()
            d.dim_param = f"d{i}"
    out = os.path.join(work, "centerface.dynamic.onnx")
    onnx.save(m, out)
    return out


def ort_img_s(model, shape, threads, runs, spin):
    sess = pm_peers.ort_session(model, threads, spin)
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).random(shape, dtype=np.float32) * 255
    for _ in range(3):
        sess.run(None, {name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {name: x})
        times.append(time.perf_counter() - t0)
    return shape[0] / statistics.median(times)


def engine_img_s(binary, card, threads, runs):
    p = subprocess.run([binary, "model", "bench", "--model", os.path.join(ROOT, "models", card + ".json"),
                        "--batch", "1", "--threads", str(threads), "--runs", str(runs), "--warmup", "3"],
                       capture_output=True, text=True, env=dict(ENV, OMP_NUM_THREADS=str(threads)), check=True)
    return float(p.stdout.split(": ")[1].split(" img/s")[0])


def extract_seconds(binary, folder, out, extra, threads):
    if os.path.exists(out):
        os.remove(out)
    t0 = time.perf_counter()
    subprocess.run([binary, "extract", "--input", f"dir:{folder}", "--output", out, "--threads", str(threads),
                    "--quiet", *extra], check=True, env=ENV, capture_output=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixelmill", default=os.path.join(ROOT, "build", "src", "app", "pixelmill"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--scenes", type=int, default=96)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pm_bench_detect_")
    os.makedirs(work, exist_ok=True)
    print("| detector | input | threads | pixelmill img/s | ONNX Runtime img/s (best of spin/no spin) | ratio |")
    print("|---|---|---|---|---|---|")
    for name in CARDS:
        card = card_of(name)
        shape = (1, 3, card["input"]["height"], card["input"]["width"])
        model = ort_model(card, work)
        for threads in (1, 2):
            pm = engine_img_s(a.pixelmill, name, threads, a.runs)
            ort = max(ort_img_s(model, shape, threads, a.runs, spin) for spin in (False, True))
            print(f"| {name} | {shape[3]}x{shape[2]} | {threads} | {pm:.1f} | {ort:.1f} | {pm / ort:.2f}x |",
                  flush=True)

    # End to end: the scenes of the detection tests (face photos pasted on backgrounds).
    os.environ.setdefault("PM_BIN", a.pixelmill)
    os.environ.setdefault("PM_WORK", work)
    os.environ.setdefault("PM_ROOT", ROOT)
    import extract_detect
    folder = os.path.join(work, "scenes")
    extract_detect.make_scenes(folder, a.scenes)
    out = os.path.join(work, "run.h5")
    print(f"\n`pixelmill extract` (default model, 1 rank) on {a.scenes} scenes of 640x480 plus 2 bad files:\n")
    print("| threads | detection | seconds | img/s |")
    print("|---|---|---|---|")
    for threads in (1, 2):
        for label, extra in (("off", []), ("centerface, crops embedded", ["--detector",
                                                                          os.path.join(ROOT, "models", "centerface.json")])):
            s = min(extract_seconds(a.pixelmill, folder, out, extra, threads) for _ in range(2))
            print(f"| {threads} | {label} | {s:.2f} | {(a.scenes + 2) / s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
