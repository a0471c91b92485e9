#!/usr/bin/python3
"""The self-balancing decode/inference split against fixed splits, on one rank that has the
whole machine (the plain `pixelmill extract` a user starts without mpirun):

  perf/e2e/bench_balance.py [--pixelmill BIN] [--model CARD] [--work DIR] [--runs 3]
      [--precision auto] [--fixed 1,2] [--sets demo,large]

Sets (made once in WORK):
  demo   the e2e set (perf/e2e/bench_e2e.sh's WORK/images, 840 photos of 0.03-1.4 Mpx);
         made by scripts/make-demo-data.sh copied 12 times when absent;
  large  38 Debian package photos upscaled to 2400 px wide (JPEG q85 and q92), copied 10
         times (380 images): decoding costs several times the network.
For each set: one warm-up, then --runs rounds alternating `extract` with the default
(balanced) and with each `--decode-threads N` of --fixed; img/s of the whole command,
median (min-max), each fixed split's ratio to the balanced one, and how many decode
threads the balanced runs let decode at once (fewest-most, at the end). Check `uptime`
first: run it when the machine is quiet.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import cv2

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def newest_binary():
    found = sorted(glob.glob(os.path.join(REPO, "build*/src/app/pixelmill")), key=os.path.getmtime)
    return found[-1] if found else None


def demo_set(work):
    images = os.path.join(work, "images")
    if not os.path.isdir(images):
        src = os.path.join(work, "src")
        if not os.path.exists(os.path.join(src, "MANIFEST.tsv")):
            subprocess.run([os.path.join(REPO, "scripts/make-demo-data.sh"), src], check=True,
                           stdout=subprocess.DEVNULL)
        for i in range(12):
            shutil.copytree(src, os.path.join(images, f"copy_{i:02d}"))
            os.remove(os.path.join(images, f"copy_{i:02d}", "MANIFEST.tsv"))
    return images


def large_set(work):
    out = os.path.join(work, "large")
    if os.path.isdir(out):
        return out
    one = os.path.join(work, "large_src")
    os.makedirs(one, exist_ok=True)
    n = 0
    for path in sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.jpg"))[:20]:
        im = cv2.imread(path)
        if im is None or min(im.shape[:2]) < 200:
            continue
        big = cv2.resize(im, (2400, int(2400 * im.shape[0] / im.shape[1])), interpolation=cv2.INTER_CUBIC)
        for q in (85, 92):
            cv2.imwrite(os.path.join(one, f"p{n:03d}.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, q])
            n += 1
    for i in range(10):
        shutil.copytree(one, os.path.join(out, f"c{i}"))
    return out


def run(binary, card, images, out, extra, precision):
    if os.path.exists(out):
        os.remove(out)
    metrics = out + ".json"
    t0 = time.monotonic()
    subprocess.run([binary, "extract", "--input", f"dir:{images}", "--model", card, "--output", out,
                    "--precision", precision, "--metrics-json", metrics, "--quiet"] + extra,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    with open(metrics) as f:
        m = json.load(f)
    return m["records"] / wall, m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pixelmill", default=newest_binary())
    ap.add_argument("--model", default=os.path.join(REPO, "models/sscd_distilled.json"))
    ap.add_argument("--work", default=os.environ.get("PM_E2E_DIR", "/tmp/pm-e2e"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--fixed", default="1,2")
    ap.add_argument("--sets", default="demo,large")
    a = ap.parse_args()
    if not a.pixelmill or not os.path.exists(a.pixelmill):
        sys.exit("bench_balance: no pixelmill binary (build it, or pass --pixelmill)")
    os.makedirs(a.work, exist_ok=True)
    env_note = os.environ.get("OMP_NUM_THREADS")
    if env_note:
        sys.exit("bench_balance: unset OMP_NUM_THREADS (the rank's compute threads are its CPUs)")
    fixed = [int(x) for x in a.fixed.split(",") if x]
    load_before = open("/proc/loadavg").read().split()[:3]
    print(f"bench_balance: {a.pixelmill}, {a.model}, --precision {a.precision}, one rank, "
          f"{os.cpu_count()} CPUs; load average before {' '.join(load_before)}")
    out = os.path.join(a.work, "balance.h5")
    for name in a.sets.split(","):
        images = {"demo": demo_set, "large": large_set}[name](a.work)
        configs = [("balanced", [])] + [(f"--decode-threads {n}", ["--decode-threads", str(n)]) for n in fixed]
        rates = {c: [] for c, _ in configs}
        active = []
        for c, extra in configs:  # warm-up
            run(a.pixelmill, a.model, images, out, extra, a.precision)
        for _ in range(a.runs):
            for c, extra in configs:
                r, m = run(a.pixelmill, a.model, images, out, extra, a.precision)
                rates[c].append(r)
                if c == "balanced":
                    active.append(m["per_rank"][0]["decode_active"])
                    threads = m["threads_per_rank"]
        med = {c: statistics.median(v) for c, v in rates.items()}
        print(f"\n{name}: {m['records']} images; compute threads {threads['compute']}, decode threads started "
              f"{threads['decode_started']} (balanced)")
        print(f"  {'split':<20} {'img/s median (min-max)':>28} {'/ balanced':>11}")
        for c, _ in configs:
            v = rates[c]
            print(f"  {c:<20} {med[c]:>12.1f} ({min(v):.1f}-{max(v):.1f})      {med[c] / med['balanced']:>8.2f}")
        print("  balanced runs, decode threads decoding at once (fewest-most, last): " +
              ", ".join(f"{x['fewest']}-{x['most']}, {x['last']}" for x in active))
    print(f"\nload average after {' '.join(open('/proc/loadavg').read().split()[:3])}")


if __name__ == "__main__":
    main()
