#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, fetches the default
# model, makes the demo photo set, runs the main job under mpirun, and says what it found.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PM_BUILD_DIR:-$root/build}
ranks=${PM_DEMO_RANKS:-2}
out=${PM_DEMO_OUT:-$root/out}

"$root/scripts/install-deps.sh"
"$root/scripts/fetch-models.sh"
"$root/scripts/build.sh"

demo="$root/demo-data"
data="$demo/photos"
if [ ! -f "$demo/MANIFEST.tsv" ]; then
  rm -rf "$demo"
  "$root/scripts/make-demo-data.sh" "$data"
  mv "$data/MANIFEST.tsv" "$demo/MANIFEST.tsv"  # the list of variants is not an input photo
fi
mkdir -p "$out"

if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Ranks share this machine's cores: OpenMP threads that spin while idle would steal them.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
dedup_flag=""
"$build/src/app/pixelmill" dedup --help >/dev/null 2>&1 && dedup_flag="--dedup"

echo
echo "== pixelmill extract on $(find "$data" -type f | wc -l) demo photos ($demo/MANIFEST.tsv says which are variants), $ranks MPI ranks =="
start=$(date +%s)
mpirun --oversubscribe -np "$ranks" "$build/src/app/pixelmill" extract \
  --input "dir:$data" --model "$root/models/sscd_distilled.onnx" \
  --output "$out/demo.h5" --metrics-json "$out/demo-metrics.json" $dedup_flag
echo "(the job took $(( $(date +%s) - start )) s)"

echo
echo "== what the output holds =="
/usr/bin/python3 "$root/scripts/describe-output.py" "$out/demo.h5"
if [ -n "$dedup_flag" ] && "$build/src/app/pixelmill" report --help >/dev/null 2>&1; then
  "$build/src/app/pixelmill" report --input "$out/demo.h5" --out "$out/demo-report.html" >/dev/null \
    && echo "Visual report: $out/demo-report.html (open it in a browser)"
fi
echo "Output: $out/demo.h5   metrics: $out/demo-metrics.json"
