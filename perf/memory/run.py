#!/usr/bin/python3
"""Peak memory per rank of `pixelmill extract` against the number of rows it writes.

    perf/memory/run.py [BUILD_DIR] [--ranks 2] [--rows 10000,100000,1000000] [--checkpoint-mb 64]

Runs `extract --input synthetic:N` (small generated JPEGs, see src/source/synthetic) with
the test model (`pixelmill model make-test`) at each N twice, in the same session:
  streamed:   checkpoint rounds of --checkpoint-mb (the default behaviour, smaller buffer)
  one write:  --checkpoint-mb and --checkpoint-seconds so large that the only round is
              the last one, i.e. every row kept until the end (how extract worked before
              streaming): the peer.
For each it prints the largest VmHWM of any rank (from --metrics-json) and, for the
streamed run, the bound

  baseline + 2 x checkpoint buffer + in-flight
  baseline    = the peak of the same run over 1 record (process, MPI, model, threads)
  buffer      = --checkpoint-mb: completed rows held until a round; up to one vote
                (0.2 s) more arrives before the round starts, and the round packs one
                column at a time, at most the buffer again: hence 2 x
  in-flight   = rows of the splits being read (readers x 256 rows) + batch tensors
                (3 x batch x input) + the decode queue (2 x batch + 4 encoded images)

with `within bound: yes/no`. Figures are MiB (2^20 bytes).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build", nargs="?", default="build")
ap.add_argument("--ranks", type=int, default=2)
ap.add_argument("--rows", default="10000,100000,1000000")
ap.add_argument("--checkpoint-mb", type=float, default=64)
ap.add_argument("--batch", type=int, default=16)
args = ap.parse_args()

binary = os.path.join(args.build, "src", "app", "pixelmill")
env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
work = tempfile.mkdtemp(prefix="pm-memory-")
subprocess.run([binary, "model", "make-test", "--out", work], check=True, env=env, capture_output=True)
model = os.path.join(work, "tiny_embed.onnx")
with open(os.path.join(work, "tiny_embed.json")) as f:
    card = json.load(f)
inp = card["input"]
input_bytes = inp["height"] * inp["width"] * 3 * (4 if inp["dtype"] == "float32" else 1)


def run(rows, extra):
    out = os.path.join(work, "run.h5")
    metrics = os.path.join(work, "metrics.json")
    for p in (out, metrics):
        if os.path.exists(p):
            os.remove(p)
    t = time.time()
    p = subprocess.run(["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", str(args.ranks), binary,
                        "extract", "--input", f"synthetic:{rows}", "--model", model, "--output", out,
                        "--batch", str(args.batch), "--threads", "1", "--decode-threads", "1", "--quiet",
                        "--metrics-json", metrics, *extra], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"extract of {rows} rows failed:\n{p.stderr[-2000:]}")
    with open(metrics) as f:
        m = json.load(f)
    return m["peak_rss_mb"], m["checkpoint_rounds"], time.time() - t, m["records"]


streamed = ["--checkpoint-mb", str(args.checkpoint_mb), "--checkpoint-seconds", "300"]
one_write = ["--checkpoint-mb", "1048576", "--checkpoint-seconds", "604800"]
print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {args.ranks} ranks, batch {args.batch}, "
      f"load average {os.getloadavg()[0]:.2f}", flush=True)
baseline, _, _, _ = run(1, streamed)
in_flight_mb = (1 * 256 * 2048 + 3 * args.batch * input_bytes + (2 * args.batch + 4) * 8192) / 2**20
bound = baseline + 2 * args.checkpoint_mb + in_flight_mb
print(f"baseline (1 record): {baseline:.1f} MiB; bound = {baseline:.1f} + 2 x {args.checkpoint_mb:g} "
      f"+ {in_flight_mb:.1f} = {bound:.1f} MiB\n")
print("| rows | streamed: peak RSS per rank | rounds | time | bound | within bound "
      "| one write (peer): peak RSS | time | streamed / one write |")
print("|---:|---:|---:|---:|---:|---|---:|---:|---:|")
for rows in [int(r) for r in args.rows.split(",")]:
    s_peak, s_rounds, s_time, records = run(rows, streamed)
    o_peak, _, o_time, _ = run(rows, one_write)
    assert records == rows, (records, rows)
    print(f"| {rows:,} | {s_peak:.1f} MiB | {s_rounds} | {s_time:.0f} s | {bound:.1f} MiB | "
          f"{'yes' if s_peak <= bound else 'no'} | {o_peak:.1f} MiB | {o_time:.0f} s | {s_peak / o_peak:.2f} |",
          flush=True)
print(f"\nload average after: {os.getloadavg()[0]:.2f}")
