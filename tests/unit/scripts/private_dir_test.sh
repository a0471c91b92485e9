#!/usr/bin/env bash
# scripts/lib/private-dir.sh and the local-service scripts that use it: a state directory
# that is a symlink, someone else's, or writable by others is refused before anything is
# written into it; a new one is made mode 0700.
#   private_dir_test.sh SOURCE_DIR
set -uo pipefail
src=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=/dev/null
. "$src/scripts/lib/private-dir.sh"

( private_state_dir "$t/new/state" ) || fail "a new directory was refused"
[ "$(stat -c %a "$t/new/state")" = 700 ] || fail "a new directory is mode $(stat -c %a "$t/new/state"), not 700"
( private_state_dir "$t/new/state" ) || fail "our own directory was refused the second time"

mkdir -m 700 "$t/real"
ln -s "$t/real" "$t/link"
out=$( (private_state_dir "$t/link") 2>&1) && fail "a symlink was accepted"
[[ "$out" == *"symbolic link"* ]] || fail "symlink refusal says: $out"

mkdir "$t/open" && chmod 777 "$t/open"
out=$( (private_state_dir "$t/open") 2>&1) && fail "a world-writable directory was accepted"
[[ "$out" == *"writable by others"* ]] || fail "mode refusal says: $out"

if [ "$(id -u)" -eq 0 ]; then
  mkdir -m 700 "$t/theirs" && chown 65534 "$t/theirs"
  out=$( (private_state_dir "$t/theirs") 2>&1) && fail "another user's directory was accepted"
  [[ "$out" == *"belongs to uid 65534"* ]] || fail "owner refusal says: $out"
  other_checked=yes
fi

# The scripts refuse before writing anything into such a directory.
for script in hbase-local.sh slurm-local.sh; do
  var=PM_HBASE_HOME; [ "$script" = slurm-local.sh ] && var=PM_SLURM_HOME
  before=$(ls -A "$t/open" | wc -l)
  out=$(env "$var=$t/open" bash "$src/scripts/$script" status 2>&1) && fail "$script used an open directory"
  [[ "$out" == *"writable by others"* ]] || fail "$script says: $out"
  [ "$(ls -A "$t/open" | wc -l)" = "$before" ] || fail "$script wrote into the open directory"
done
echo "PASS: new dirs 0700; symlink, open${other_checked:+ and foreign} dirs refused, by the scripts too"
