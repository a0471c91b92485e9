#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz/fuzz_*.cc) with libFuzzer, ASan and UBSan for SECONDS
# each (default 60), starting from its corpus in tests/fuzz/corpus/NAME.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 600, scripts/fuzz.sh 60 npy onnx
#
# Builds into build-fuzz/ (clang-14, -DPM_FUZZ=ON; $PM_FUZZ_BUILD_DIR to change). New inputs
# that reach new code are kept in build-fuzz/corpus/NAME (not in the repository); a crash,
# leak, sanitizer report, timeout (> 20 s) or out-of-memory (> 2 GiB) is saved under
# build-fuzz/crashes/NAME/ and fails the run. Once the code is fixed, add the input to
# tests/fuzz/corpus/NAME/: every build then replays it as CTest fuzz.NAME. An input on which
# libhdf5 itself never returns (pixelmill's watchdog ends the process) goes to
# tests/fuzz/hangs/NAME/ instead (see its README).
# PM_FUZZ_JOBS targets run at a time (default: the number of cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PM_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-60}
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "fuzz.sh: SECONDS must be a positive integer" >&2; exit 2; }
jobs=${PM_FUZZ_JOBS:-$(nproc)}

command -v clang++-14 >/dev/null || "$root/scripts/install-deps.sh"
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DPM_FUZZ=ON -DPM_BUILD_PERF=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # hbase_url exists only in builds with the HBase module.
  known=$(ninja -C "$build" -t targets all 2>/dev/null)
  for f in "$root"/tests/fuzz/fuzz_*.cc; do
    n=$(basename "$f" .cc); n=${n#fuzz_}
    grep -q "^tests/fuzz/pm_fuzz_$n:" <<<"$known" && targets+=("$n")
  done
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/pm_fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
# libhdf5 1.10 leaks some of its own allocations when it refuses a damaged file; every
# HDF5 id of ours is closed by an owner (h5_handle.h), so those leaks are its own.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fuzz_one() {
  local n=$1 corpus=$build/corpus/$1 crashes=$build/crashes/$1
  mkdir -p "$corpus" "$crashes"
  cp -n "$root/tests/fuzz/corpus/$n"/* "$corpus"/ 2>/dev/null || true
  if "$build/tests/fuzz/pm_fuzz_$n" "$corpus" -max_total_time="$seconds" -timeout=20 \
       -rss_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 \
       >"$build/fuzz-$n.log" 2>&1; then
    echo "fuzz.sh: $n: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$n.log" | grep -o '[0-9]*$') runs in ${seconds} s, $(ls "$corpus" | wc -l) corpus inputs, no crash"
  else
    echo "fuzz.sh: $n: FAILED, input(s) in $crashes/; log $build/fuzz-$n.log:"
    grep -E "ERROR|SUMMARY|==[0-9]+==|runtime error|deadly|Test unit written" "$build/fuzz-$n.log" | head -15
    return 1
  fi
}
status=0
running=0
for n in "${targets[@]}"; do
  fuzz_one "$n" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || status=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
exit $status
