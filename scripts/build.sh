#!/usr/bin/env bash
# Configures and builds pixelmill into build/ (or $PM_BUILD_DIR). Used by demo.sh and test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PM_BUILD_DIR:-$root/build}
jobs=${PM_JOBS:-$(nproc)}
# PM_CMAKE_ARGS: more cache settings, ';'-separated (scripts/test.sh --sanitize sets flags).
extra=()
if [ -n "${PM_CMAKE_ARGS:-}" ]; then IFS=';' read -r -a extra <<< "$PM_CMAKE_ARGS"; fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${PM_BUILD_TYPE:-RelWithDebInfo} "${extra[@]}" >/dev/null
cmake --build "$build" -j "$jobs"
