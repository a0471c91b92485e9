#!/usr/bin/env bash
# Source throughput benchmark on a local HBase: starts one (state in $PM_HBASE_HOME,
# default build-dir/perf-hbase), runs pm-hbase-source-bench, stops it.
#   perf/hbase/run.sh [BUILD_DIR] [bench options, e.g. --rows 20000 --value-bytes 65536]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}; shift || true
export PM_HBASE_HOME=${PM_HBASE_HOME:-$build/perf-hbase}
export PM_HBASE_PROBE=$build/src/source/hbase/pm-hbase-probe
endpoint=$("$root/scripts/hbase-local.sh" start | tail -1)
trap '"$root/scripts/hbase-local.sh" stop' EXIT
"$build/perf/hbase/pm-hbase-source-bench" --url "$endpoint/pm_bench" "$@"
