#!/usr/bin/env bash
# A cold start of scripts/hbase-local.sh, as on a fresh machine: a state directory that has
# never held an HBase. The first `start` must come up ready (it once reported "master
# exited" while the JVM was still being exec'd), `status` must name two live JVMs, the
# endpoint must answer real Thrift calls, a second `start` must find what runs, and `stop`
# must end both.
#   env: PM_HBASE_SCRIPT (scripts/hbase-local.sh), PM_HBASE_PROBE (pm-hbase-probe)
set -euo pipefail
script=${PM_HBASE_SCRIPT:?}
probe=${PM_HBASE_PROBE:?}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pm-hbase-cold.XXXXXX")
export PM_HBASE_HOME=$scratch/home
unset PM_HBASE_THRIFT_PORT PM_HBASE_ZK_PORT
trap 'bash "$script" stop >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

rc=0
bash "$script" start >"$scratch/start.out" 2>"$scratch/start.err" || rc=$?
cat "$scratch/start.err"
[ $rc -eq 0 ] || fail "the first start exited $rc"
url=$(tail -1 "$scratch/start.out")
[[ "$url" =~ ^hbase://127\.0\.0\.1:([0-9]+)$ ]] || fail "start printed '$url', not an endpoint"
port=${BASH_REMATCH[1]}
! grep -q "exited" "$scratch/start.err" || fail "start reported an exit"
grep -q "ready in" "$scratch/start.err" || fail "start did not report readiness"

bash "$script" status >"$scratch/status.out" || fail "status exited non-zero after a start"
for name in master thrift; do
  pid=$(awk -v n="$name" '$1 == n && $2 == "running" {print $4}' "$scratch/status.out")
  [ -n "$pid" ] || fail "status does not show $name running: $(cat "$scratch/status.out")"
  [ "$(cat "/proc/$pid/comm")" = java ] || fail "$name pid $pid is not the JVM"
done
"$probe" --host 127.0.0.1 --port "$port" --timeout 30 || fail "the endpoint does not answer"

again=$(bash "$script" start 2>"$scratch/again.err" | tail -1)
[ "$again" = "$url" ] || fail "a second start printed '$again', not '$url'"
grep -q "master already running" "$scratch/again.err" || fail "a second start did not find the master"

bash "$script" stop 2>/dev/null
rc=0
bash "$script" status >"$scratch/status2.out" || rc=$?
[ $rc -eq 3 ] || fail "status after stop exited $rc, not 3: $(cat "$scratch/status2.out")"
echo "cold start: ready at $url, both JVMs found again, stopped"
