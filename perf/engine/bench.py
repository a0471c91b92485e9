#!/usr/bin/python3
"""The pixelmill engine against its peers on the same ONNX files, same batch, same
threads (issue 3 item 8, PERF.md): pixelmill fp32 and bf16 vs ONNX Runtime fp32 and
OpenCV DNN 4.6, per model and thread count, as img/s (median of --runs [min, max]),
whole-network GFLOP/s from the graph's MACs and its share of the measured FMA peak,
the ratios, the bf16-vs-fp32 cosine, and optionally oneDNN per-layer GFLOP/s.

Run through bench.sh, which finds the binaries and prepares the zoo and the peers.
Every figure carries the 1-minute load average seen just before it was measured: on a
shared 2-vCPU machine a busy neighbour halves a figure. Never run by the test suite."""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import macs as macs_mod  # noqa: E402
import onednn_layers  # noqa: E402
import pm_peers  # noqa: E402

# pixelmill initialises MPI even when run alone; root containers need the override.
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")

IMG_S = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*img/s")


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def fmt(s, w=7):
    if s is None:
        return f"{'n/a':>{w}} {'':17}"
    return f"{s['median']:{w}.1f} [{s['min']:6.1f},{s['max']:7.1f}]"


def fma_peaks(fma_bin, threads, runs):
    """threads -> {"fp32": GFLOP/s, "bf16": GFLOP/s} measured now, or {} without a binary."""
    if not fma_bin:
        return {}
    out = subprocess.run([fma_bin, "--threads", ",".join(map(str, threads)), "--runs",
                          str(runs), "--csv"], capture_output=True, text=True, check=True).stdout
    peaks = {}
    for line in out.splitlines()[1:]:
        f = line.split(",")
        peaks[int(f[0])] = {"fp32": float(f[1]), "fp32_min": float(f[2]), "fp32_max": float(f[3]),
                            "bf16": float(f[4])}
    return peaks


PM_LINE = re.compile(r"([0-9.]+) img/s \(median of (\d+); min ([0-9.]+), max ([0-9.]+)")


# The figures pixelmill is measured as. "fp32-direct" leaves out the two algorithmic
# choices of the default fp32 path (Winograd for 3x3 stride-1 convolutions, micro-batches
# for memory-bound networks), so the table shows what the kernels alone give.
PRECISION_FLAGS = {
    "fp32": ["--precision", "fp32"],
    "fp32-direct": ["--precision", "fp32", "--conv-algo", "direct", "--micro-batch", "-1"],
    "bf16": ["--precision", "bf16"],
}


def pixelmill_cmd(pm, model, batch, threads, precision, side, runs=None, warmup=None):
    cmd = [pm, "model", "bench", "--model", model, "--batch", str(batch), "--threads",
           str(threads), *PRECISION_FLAGS[precision], "--height", str(side), "--width", str(side)]
    if runs is not None:
        cmd += ["--runs", str(runs), "--warmup", str(warmup)]
    return cmd


def pixelmill_bench(pm, model, batch, threads, precision, side, runs, warmup):
    """img/s from `pixelmill model bench`: one process that warms up and times --runs
    batches, like the peers, read from its "median of N; min, max" line. Should the line
    lose that form, one process per run (after a warm-up process) gives the statistics.
    Returns (stats or None, the engine's line or the error)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))

    def once(cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        text = r.stdout + r.stderr
        lines = [ln for ln in text.splitlines() if IMG_S.search(ln)]
        if r.returncode != 0 or not lines:
            tail = (text.strip().splitlines() or [f"exit {r.returncode}"])[-1]
            return None, f"pixelmill model bench failed: {tail[:200]}"
        return lines[-1], ""

    line, err = once(pixelmill_cmd(pm, model, batch, threads, precision, side, runs, warmup))
    if line is None:
        return None, err
    m = PM_LINE.search(line)
    if m:
        med, lo, hi = float(m.group(1)), float(m.group(3)), float(m.group(4))
        return {"median": med, "min": lo, "max": hi, "runs": [med]}, line
    rates = []
    for _ in range(runs):
        line, err = once(pixelmill_cmd(pm, model, batch, threads, precision, side))
        if line is None:
            return None, err
        rates.append(float(IMG_S.search(line).group(1)))
    return stats(rates), line


def pixelmill_layers(pm, model, batch, threads, precision, side):
    cmd = pixelmill_cmd(pm, model, batch, threads, precision, side, 3, 1)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), ONEDNN_VERBOSE="1")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return onednn_layers.parse(r.stdout.splitlines())


def peer_bench(peer, model, batch, threads, runs, warmup):
    cmd = [sys.executable, os.path.join(HERE, "peer_bench.py"), "--peer", peer, "--model", model,
           "--batch", str(batch), "--threads", str(threads), "--runs", str(runs),
           "--warmup", str(warmup)]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    try:
        rec = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return None, f"{peer}: {(r.stderr.strip().splitlines() or ['no output'])[-1][:200]}"
    if "error" in rec:
        return None, f"{peer}: {rec['error']}"
    return stats(rec["img_s"]), ""


def peer_side(model):
    import peer_bench
    return peer_bench.input_side(model)


def model_info_macs(pm, model):
    """The line of `pixelmill model info` that mentions MACs, as printed (or None)."""
    if not pm:
        return None
    r = subprocess.run([pm, "model", "info", "--model", model], capture_output=True, text=True)
    for line in (r.stdout + r.stderr).splitlines():
        if "MAC" in line.upper():
            return line.strip()
    return None


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def bf16_cosine(pm, model, inp, threads):
    """Cosine of pixelmill bf16 to pixelmill fp32 and to ORT fp32 on the zoo input."""
    with tempfile.TemporaryDirectory() as d:
        outs = {}
        for prec in ("fp32", "bf16"):
            p = os.path.join(d, prec + ".npy")
            cmd = [pm, "model", "run", "--model", model, "--input", inp, "--output", p]
            if prec == "bf16":
                cmd += ["--precision", "bf16"]
            r = subprocess.run(cmd, capture_output=True, text=True,
                               env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
            if r.returncode != 0 or not os.path.exists(p):
                tail = ((r.stdout + r.stderr).strip().splitlines() or [f"exit {r.returncode}"])[-1]
                return f"n/a ({' '.join(cmd[1:3])} {'--precision bf16' if prec == 'bf16' else ''}: {tail[:160]})"
            outs[prec] = np.load(p)
        sess = pm_peers.ort_session(model, threads)
        ref = sess.run(None, {sess.get_inputs()[0].name: np.load(inp)})[0]
        return (f"bf16 vs pixelmill fp32 cosine {cosine(outs['bf16'], outs['fp32']):.6f}, "
                f"vs ORT fp32 {cosine(outs['bf16'], ref):.6f}; "
                f"pixelmill fp32 vs ORT fp32 {cosine(outs['fp32'], ref):.7f}, max |diff| / max |ORT| "
                f"{float(np.abs(outs['fp32'] - ref).max() / max(np.abs(ref).max(), 1e-30)):.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixelmill", default="")
    ap.add_argument("--fma", default="", help="pm_fma_peak binary")
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--models", default="resnet50,mobilenet_v2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--precisions", default="fp32,fp32-direct,bf16",
                    help="of " + ",".join(PRECISION_FLAGS))
    ap.add_argument("--peers", default="ort,ort-spin,opencv",
                    help="ort (no spinning), ort-spin (ORT's default spinning), opencv")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--layers", action="store_true",
                    help="oneDNN per-layer GFLOP/s of pixelmill (ONEDNN_VERBOSE=1)")
    ap.add_argument("--top", type=int, default=12, help="layer groups shown with --layers")
    a = ap.parse_args()
    models = [m for m in a.models.split(",") if m]
    threads = [int(t) for t in a.threads.split(",") if t]
    precs = [p for p in a.precisions.split(",") if p]
    peers = [p for p in a.peers.split(",") if p]
    pm = a.pixelmill if a.pixelmill and os.access(a.pixelmill, os.X_OK) else ""

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())
    print(f"# pixelmill engine vs peers  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  {cpu}, "
          f"{os.cpu_count()} vCPUs  load {open('/proc/loadavg').read().split()[:3]}")
    print(f"# batch {a.batch}, median of {a.runs} runs [min, max] after warm-up; pixelmill: "
          f"{pm or 'not built (peers only)'}; ORT {pm_peers.ORT_VERSION} "
          f"(intra_op_num_threads = threads); OpenCV DNN (cv.setNumThreads = threads)")

    peaks = fma_peaks(a.fma, threads, a.runs)
    for t, p in sorted(peaks.items()):
        print(f"# FMA peak, {t} thread(s): fp32 {p['fp32']:.1f} GFLOP/s "
              f"[{p['fp32_min']:.1f}, {p['fp32_max']:.1f}], bf16 {p['bf16']:.1f} GFLOP/s")

    rows, notes, layer_reports = [], [], []
    for m in models:
        subprocess.run([os.path.join(REPO, "scripts", "make-zoo.sh"), a.zoo, m], check=True,
                       stdout=subprocess.DEVNULL)
        path = os.path.join(a.zoo, m + ".onnx")
        gmac = macs_mod.count(path)[0] / 1e9
        side = peer_side(path)
        info = model_info_macs(pm, path)
        notes.append(f"{m}: {gmac:.3f} GMAC/image counted from the graph (Conv/Gemm/MatMul)"
                     + (f"; pixelmill model info: {info}" if info else ""))
        for t in threads:
            # The FMA peak again, just before this row: on a shared machine the load (and
            # so the peak a process sees) moves within minutes; the row's shares use it.
            peak = fma_peaks(a.fma, [t], 3).get(t, peaks.get(t, {}))
            if peak:
                print(f"  measured FMA peak t{t}: fp32 {peak['fp32']:.1f}, bf16 {peak['bf16']:.1f} "
                      f"GFLOP/s  load {load1():.2f}", flush=True)
            figs = {}
            for prec in precs:
                if pm:
                    ld = load1()
                    s, line = pixelmill_bench(pm, path, a.batch, t, prec, side, a.runs, a.warmup)
                    figs[("pixelmill", prec)] = (s, ld, line)
                    print(f"  measured {m} t{t} pixelmill {prec}: {fmt(s)} img/s  load {ld:.2f}"
                          f"  ({line.strip()[:120]})", flush=True)
            for peer in peers:
                ld = load1()
                s, err = peer_bench(peer, path, a.batch, t, a.runs, a.warmup)
                figs[(peer, "fp32")] = (s, ld, err)
                print(f"  measured {m} t{t} {peer} fp32: {fmt(s)} img/s  load {ld:.2f} {err}",
                      flush=True)
            rows.append((m, t, gmac, peak, figs))
            if pm and a.layers:
                for prec in precs:
                    layer_reports.append((m, t, prec, pixelmill_layers(pm, path, a.batch, t, prec, side), peak))
        if pm and "bf16" in precs:
            notes.append(f"{m}: " + bf16_cosine(pm, path, os.path.join(a.zoo, m + ".input.npy"),
                                                threads[0]))

    print()
    print(f"{'model':<14}{'thr':>3}  {'figure':<22}{'img/s med [min, max]':>26} {'GFLOP/s':>8}"
          f" {'%peak':>5} {'load':>5}  {'peer':<12}{'img/s med [min, max]':>26} {'load':>5} {'ratio':>6}")
    for m, t, gmac, peak, figs in rows:
        if peak:
            print(f"{m:<14}{t:>3}  {'(FMA peak)':<22}{'':>26} {peak['fp32']:8.1f}  fp32; "
                  f"bf16 {peak['bf16']:.1f} GFLOP/s, measured just before this row")
        for prec in precs:
            mine, mld, _ = figs.get(("pixelmill", prec), (None, None, ""))
            gf = mine["median"] * 2 * gmac if mine else None
            pk = peak.get(prec.split("-")[0]) if peak else None
            for peer in peers:
                if prec == "bf16" and not peer.startswith("ort"):
                    continue  # bf16 is compared with the peer a user would pick: ORT fp32
                theirs, tld, _ = figs.get((peer, "fp32"), (None, None, ""))
                ratio = f"{mine['median'] / theirs['median']:6.2f}" if mine and theirs else "   n/a"
                print(f"{m:<14}{t:>3}  {'pixelmill ' + prec:<22}{fmt(mine):>26} "
                      f"{(f'{gf:8.1f}' if gf else '     n/a')} "
                      f"{(f'{100 * gf / pk:4.0f}%' if gf and pk else '  n/a')} "
                      f"{(f'{mld:5.2f}' if mld is not None else '  n/a')}  "
                      f"{peer + ' fp32':<12}{fmt(theirs):>26} "
                      f"{(f'{tld:5.2f}' if tld is not None else '  n/a')} {ratio}")
        for peer in peers:  # the peers' own efficiency, for context
            theirs, tld, err = figs.get((peer, "fp32"), (None, None, ""))
            if theirs and peak:
                gf = theirs["median"] * 2 * gmac
                print(f"{m:<14}{t:>3}  {'(' + peer + ' fp32)':<22}{fmt(theirs):>26} {gf:8.1f} "
                      f"{100 * gf / peak['fp32']:4.0f}% {tld:5.2f}")
            elif err:
                print(f"{m:<14}{t:>3}  ({peer} fp32)  {err}")
    print()
    print("# GFLOP/s = img/s x 2 x the graph's MACs as direct convolution counts them; Winograd"
          " (pixelmill fp32) does fewer multiplies, so its share of the FMA peak can pass 100%.")
    for n in notes:
        print("# " + n)
    for m, t, prec, groups, peak in layer_reports:
        print(f"\n## oneDNN layers of pixelmill: {m}, {t} thread(s), {prec}, batch {a.batch}"
              f" (peak fp32 {peak.get('fp32', 0):.1f}, bf16 {peak.get('bf16', 0):.1f} GFLOP/s)")
        if groups:
            onednn_layers.report(groups, peak.get("fp32", 0), peak.get("bf16", 0), a.top)
        else:
            print("no oneDNN exec lines (does the engine run on oneDNN primitives?)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
