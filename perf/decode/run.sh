#!/usr/bin/env bash
# pm_decode_bench on the standard photos: real demo photos of common sizes
# (768x576 dog.jpg, 1352x900 kite.jpg, 1000x872 hubble_deep_field.jpg) and kite.jpg
# re-encoded at 2048x1536 and 4032x3024 (12 Mpx). One thread; warm-up, median of 5.
#   perf/decode/run.sh [--bench BIN] [--work DIR] [pm_decode_bench options...]
# BIN defaults to the newest build*/perf/decode/pm_decode_bench; the photos come from
# scripts/make-demo-data.sh into WORK (default $PM_E2E_DIR or /tmp/pm-e2e, shared with
# perf/e2e). Check `uptime` first: run it when the machine is quiet.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=""
work=${PM_E2E_DIR:-/tmp/pm-e2e}
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$bench" ]; then
  bench=$(ls -t "$root"/build*/perf/decode/pm_decode_bench 2>/dev/null | head -1 || true)
fi
[ -x "$bench" ] || { echo "decode bench: build the pm_decode_bench target first" >&2; exit 1; }
src="$work/src"
[ -f "$src/MANIFEST.tsv" ] || "$root/scripts/make-demo-data.sh" "$src" >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(getconf _NPROCESSORS_ONLN) CPUs"
"$bench" --card "$root/models/sscd_distilled.json" \
  "$src/animals/dog.jpg" "$src/sky/hubble_deep_field.jpg" "$src/people/kite.jpg" \
  --synth "$src/people/kite.jpg" --sizes 2048x1536,4032x3024 "${args[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
