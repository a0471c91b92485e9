#!/usr/bin/env bash
# The engine against ONNX Runtime and OpenCV DNN (issue 3 item 8): ResNet-50 and
# MobileNetV2 by default, batch 16, 1 and 2 threads, fp32 and bf16. Prints a table of
# img/s, GFLOP/s, share of the FMA peak measured in the same run, peer figures and ratios.
#   perf/engine/bench.sh [--pixelmill BIN] [--models a,b] [--threads 1,2] [--runs 5]
#                        [--layers] [... see bench.py --help]
# BIN defaults to the newest build*/src/app/pixelmill; pm_fma_peak to the build beside it
# (built with g++ into the zoo directory if no build has it). The zoo goes to
# $PM_ZOO_DIR (default perf/zoo, git-ignored). Check `uptime` first: run it when quiet.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
zoo=${PM_ZOO_DIR:-$root/perf/zoo}
mkdir -p "$zoo"
"$root/scripts/deps/peers.sh" >&2

pm=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pixelmill) pm=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$pm" ]; then
  pm=$(ls -t "$root"/build*/src/app/pixelmill 2>/dev/null | head -1 || true)
fi
fma=""
if [ -n "$pm" ]; then
  cand="$(dirname "$(dirname "$(dirname "$pm")")")/perf/fma/pm_fma_peak"
  [ -x "$cand" ] && fma=$cand
fi
if [ -z "$fma" ]; then
  fma=$(ls -t "$root"/build*/perf/fma/pm_fma_peak 2>/dev/null | head -1 || true)
fi
if [ -z "$fma" ]; then
  fma="$zoo/pm_fma_peak"
  [ "$fma" -nt "$root/perf/fma/fma_peak.cc" ] ||
    g++ -std=c++20 -O2 -fopenmp "$root/perf/fma/fma_peak.cc" -o "$fma"
fi
exec /usr/bin/python3 "$root/perf/engine/bench.py" --pixelmill "$pm" --fma "$fma" --zoo "$zoo" \
  ${args[@]+"${args[@]}"}
