#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test with CTest.
# Services the tests need (HBase, ...) are started and stopped by CTest fixtures.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PM_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/fetch-models.sh"
"$root/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build"
ctest --output-on-failure --timeout 1500 "$@"
