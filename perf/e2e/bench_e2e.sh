#!/usr/bin/env bash
# End to end: `mpirun -np N pixelmill extract` (1 compute thread per rank) against the
# Python pipeline a user would write (perf/e2e/python_peer.py: OpenCV decode + INTER_AREA
# resize + ONNX Runtime, batch 16, intra_op_num_threads 1, N processes with
# multiprocessing), on the same photos, N = 1 and 2 by default. The usual rules: one
# warm-up of each side, then --runs runs alternating the two sides (so that a noisy
# neighbour hits both alike); img/s median (min-max) per side, the ratio of medians, the
# load average before and after; then how closely the two sides' embeddings agree.
#
#   perf/e2e/bench_e2e.sh [--pixelmill BIN] [--model ONNX] [--work DIR] [--copies 12]
#                         [--ranks 1,2] [--runs 5] [--batch 16] [--bind core|none]
#                         [--precision fp32|int8|bf16]
#
# --precision int8: both sides run int8. `pixelmill model quantize` (default options)
# makes a QDQ sibling of the model, calibrated on Debian's package photos (the ones the
# demo set is cut from); a copy of the card in WORK/int8/ names it, so `extract` picks it
# by --precision auto (its default); the Python peer runs the same QDQ file on ONNX
# Runtime's int8 kernels.
# --precision bf16: each side's fastest: pixelmill `extract --precision bf16` on the fp32
# file (AVX512_BF16/AMX; fp32 with a note elsewhere), the Python peer the int8 QDQ file
# above (ONNX Runtime has no bf16 convolutions on x86 CPUs).
#
# The photos: scripts/make-demo-data.sh (70 photos, 0.03-1.4 Mpx, mean 0.39) copied
# --copies times into WORK/images/copy_NN/ (deterministic: same files, same order; 12
# copies = 840 images). img/s is records / wall time of the whole command, launch
# (mpirun or the interpreter) to exit, as a user would time it; the table also shows each
# side's own figure (pixelmill's metrics JSON, the peer's from import to closed file).
# BIN defaults to the newest build*/src/app/pixelmill. WORK defaults to $PM_E2E_DIR or
# /tmp/pm-e2e. Check `uptime` first: run it when the machine is quiet.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pm=""
model="$root/models/sscd_distilled.onnx"
work=${PM_E2E_DIR:-/tmp/pm-e2e}
copies=12
ranks=1,2
runs=5
batch=16
bind=core
precision=fp32
while [ $# -gt 0 ]; do
  case "$1" in
    --pixelmill) pm=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --copies) copies=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --bind) bind=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "bench_e2e: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$pm" ]; then
  pm=$(ls -t "$root"/build*/src/app/pixelmill 2>/dev/null | head -1 || true)
fi
[ -x "$pm" ] || { echo "bench_e2e: no pixelmill binary (build it, or pass --pixelmill)" >&2; exit 1; }
[ -f "$model" ] || { echo "bench_e2e: no model $model (scripts/fetch-models.sh)" >&2; exit 1; }
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")

# ONNX Runtime for Debian's python3 (python3-opencv, python3-h5py): the engine peers' copy.
"$root/scripts/deps/peers.sh" >&2
ort=$(ls -d "${PM_PEERS_DIR:-$root/perf/peers}"/ort-* | sort -V | tail -1)
py=/usr/bin/python3

mkdir -p "$work"
pm_model=$model
py_model=$model
pm_precision=()
case "$precision" in
  fp32) ;;
  int8|bf16)
    # The int8 sibling beside a copy of the card (the tracked card is left as it is).
    stem=$(basename "$model" .onnx)
    qdir="$work/int8"
    mkdir -p "$qdir"
    ln -sf "$model" "$qdir/$stem.onnx"
    ls /usr/share/darknet/data/*.jpg /usr/share/doc/opencv-doc/examples/data/*.jpg \
      /usr/share/doc/opencv-doc/examples/data/*.png /usr/lib/python3/dist-packages/skimage/data/*.png \
      /usr/lib/python3/dist-packages/skimage/data/*.jpg 2>/dev/null > "$qdir/calibration.txt"
    cp "${model%.onnx}.json" "$qdir/$stem.json"
    "$pm" model quantize --model "$qdir/$stem.json" --calibration "list:$qdir/calibration.txt" \
      --output "$qdir/$stem.int8.onnx" >&2
    /usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c["quantized"]=sys.argv[2]; json.dump(c,open(p,"w"),indent=2)' \
      "$qdir/$stem.json" "$stem.int8.json"
    py_model="$qdir/$stem.int8.onnx"
    if [ "$precision" = int8 ]; then
      pm_model="$qdir/$stem.json"
    else
      pm_precision=(--precision bf16)
    fi
    ;;
  *) echo "bench_e2e: --precision must be fp32, int8 or bf16" >&2; exit 2 ;;
esac
images="$work/images"
if [ ! -f "$work/.images-copies-$copies" ]; then
  [ -f "$work/src/MANIFEST.tsv" ] || "$root/scripts/make-demo-data.sh" "$work/src" >&2
  rm -rf "$images"
  mkdir -p "$images"
  for i in $(seq -f %02g 0 $((copies - 1))); do
    cp -a "$work/src/." "$images/copy_$i/"
    rm -f "$images/copy_$i/MANIFEST.tsv"
  done
  rm -f "$work"/.images-copies-*
  touch "$work/.images-copies-$copies"
fi
n_images=$(find "$images" -type f | wc -l)
cpus=$(getconf _NPROCESSORS_ONLN)

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out="$work/out"
mkdir -p "$out"
results="$work/results.tsv"
: > "$results"

now() { date +%s.%N; }

run_pm() {  # N TAG
  rm -f "$out/pm.h5"
  local t0 t1
  t0=$(now)
  mpirun --oversubscribe --allow-run-as-root --bind-to "$bind" -np "$1" "$pm" extract \
    --input "dir:$images" --model "$pm_model" --output "$out/pm.h5" --metrics-json "$out/pm.json" \
    --batch "$batch" --threads 1 --decode-threads 1 --quiet "${pm_precision[@]}"
  t1=$(now)
  cp "$out/pm.json" "$out/pm.$1.$2.json"
  printf 'pixelmill\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(awk "BEGIN{print $t1 - $t0}")" \
    "$out/pm.$1.$2.json" >> "$results"
}

run_py() {  # N TAG
  rm -f "$out/py.h5"
  local t0 t1
  t0=$(now)
  PYTHONPATH="$ort" "$py" "$root/perf/e2e/python_peer.py" --input "$images" --model "$py_model" \
    --output "$out/py.h5" --procs "$1" --batch "$batch" --threads 1 \
    --metrics-json "$out/py.json" > /dev/null 2> "$out/py.stderr"
  t1=$(now)
  cp "$out/py.json" "$out/py.$1.$2.json"
  printf 'python\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(awk "BEGIN{print $t1 - $t0}")" \
    "$out/py.$1.$2.json" >> "$results"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench_e2e: $n_images images ($copies copies of the demo set), $precision, batch $batch, 1 thread per" \
  "rank/process, mpirun --bind-to $bind, $runs runs after a warm-up; $cpus CPUs;" \
  "load average before: $load_before" >&2
for n in ${ranks//,/ }; do
  echo "bench_e2e: N=$n warm-up" >&2
  run_pm "$n" warmup
  run_py "$n" warmup
  for r in $(seq 1 "$runs"); do
    echo "bench_e2e: N=$n run $r/$runs" >&2
    run_pm "$n" "$r"
    run_py "$n" "$r"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$py" "$root/perf/e2e/report.py" --results "$results" --images "$n_images" \
  --pixelmill-h5 "$out/pm.h5" --python-h5 "$out/py.h5" \
  --load-before "$load_before" --load-after "$load_after" --bind "$bind" --pixelmill "$pm"
