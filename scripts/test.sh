#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test with CTest.
# Services the tests need (HBase, ...) are started and stopped by CTest fixtures.
#
#   scripts/test.sh [--sanitize] [CTEST_ARGS...]
#
# --sanitize: the same suite on a build with AddressSanitizer and UndefinedBehaviorSanitizer
# (build-sanitize/, or $PM_BUILD_DIR): any report fails the test that triggered it.
# Leak reports from the MPI, HDF5 and OpenMP runtimes' own start-up are suppressed
# (tests/sanitize/lsan.supp); leaks of pixelmill's code are not.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=0
if [ "${1:-}" = --sanitize ]; then sanitize=1; shift; fi
if [ $sanitize -eq 1 ]; then
  export PM_BUILD_DIR=${PM_BUILD_DIR:-$root/build-sanitize}
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  export PM_CMAKE_ARGS="-DCMAKE_C_FLAGS=$flags;-DCMAKE_CXX_FLAGS=$flags;-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined;-DPM_BUILD_PERF=OFF"
  # fast_unwind_on_malloc=0: the runtime libraries (Open MPI's plugins above all) are built
  # without frame pointers, so the fast unwinder leaves their allocations as "<unknown
  # module>" frames that no suppression can name; the slow one names them.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0:fast_unwind_on_malloc=0}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitize/ubsan.supp}
fi
build=${PM_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/fetch-models.sh"
"$root/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build"
ctest --output-on-failure --timeout 1500 "$@"
