#!/usr/bin/env bash
# Proves the README's two setup commands on a fresh Debian 12 machine, without one: builds a
# clean Debian 12 root with mmdebstrap that holds only what such a machine starts with
# (scripts/fresh-machine/packages.txt), puts a clean clone of HEAD into it, and runs
# `scripts/demo.sh`, then `scripts/test.sh` there, as root, with CI=true. The services the
# tests start (HBase, Slurm) run inside the root like on a machine of their own.
#
#   scripts/check-fresh-machine.sh [--rebuild-base] [--keep] [--only demo|test] [-- CTEST_ARGS...]
#
#   --rebuild-base  build the base root anew even when a cached one matches
#   --keep          keep the root afterwards (its path is printed) instead of deleting it
#   --only STEP     run only the demo (README command 1) or only the tests (command 2)
#   -- ARGS         passed on to scripts/test.sh, which passes them to ctest (e.g. -R hbase)
#
# Each step prints [ ok ] or [FAIL] with its time; a failed step shows the tail of its log
# (all logs stay in the run directory). Exit status 0 when every step passed.
#
# Needs root (it mounts /proc, /sys and /dev into the root) and mmdebstrap, a Debian package
# that it installs when missing. The base root is cached as a tarball, keyed by the package
# list and the mirror, and unpacked fresh for every run; downloaded .deb files are cached
# too (they change how fast, not what, is installed). Each step runs in a mount and PID
# namespace of its own: its mounts exist only there and vanish with it, and every process it
# left behind (HBase, Slurm daemons) is killed with it, on every exit path, Ctrl-C included.
#
# Environment:
#   PM_FRESH_CACHE   base root tarballs and the .deb cache (default /var/cache/pixelmill-fresh)
#   PM_FRESH_WORK    where each run's root and logs go (default /var/tmp/pixelmill-fresh)
#   PM_FRESH_MIRROR  Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${PM_FRESH_CACHE:-/var/cache/pixelmill-fresh}
work_base=${PM_FRESH_WORK:-/var/tmp/pixelmill-fresh}
mirror=${PM_FRESH_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

rebuild=0 keep=0 only=""
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild-base) rebuild=1 ;;
    --keep) keep=1 ;;
    --only) only=${2:-}; shift
            case "$only" in demo|test) ;; *) echo "--only takes demo or test" >&2; exit 2 ;; esac ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-fresh-machine: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "check-fresh-machine: $*"; }
die() { say "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root: the clean root needs mounts and a chroot"

run_dir=""
root=""
step_pid=""
results=()
failed=0

# Every exit path: end a step still running (its namespaces take its mounts and processes
# with them), make sure nothing of ours is still mounted, then drop the root.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$step_pid" ] && kill -0 "$step_pid" 2>/dev/null; then
    # The step is a process group of its own (set -m in step()); a step in the root is
    # unshare, whose death kills its PID namespace's init and so everything inside.
    kill -TERM -- "-$step_pid" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$step_pid" 2>/dev/null || true
    wait "$step_pid" 2>/dev/null || true
  fi
  if [ -n "$root" ]; then
    local m left=0
    # Mounts live in the steps' namespaces only; this is the belt to those braces.
    while read -r m; do
      umount -l "$m" 2>/dev/null && left=$((left + 1))
    done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r)
    [ $left -eq 0 ] || say "unmounted $left leftover mount(s) under $root"
    if [ $keep -eq 1 ]; then
      say "root kept at $root"
    elif [ -d "$root" ]; then
      rm -rf --one-file-system "$root"
    fi
  fi
  [ -z "$run_dir" ] || say "logs in $run_dir/logs"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# step NAME COMMAND...: runs one step with its log; prints pass/fail and its time.
step() {
  local name=$1; shift
  local log="$run_dir/logs/$(echo "$name" | tr -c 'a-zA-Z0-9.\n-' '_').log" t0 rc=0
  t0=$(date +%s)
  echo "---- $name"
  # In the background, in a process group of its own: `wait` returns to the traps at once on
  # Ctrl-C, and cleanup() can end the whole step with one kill.
  set -m
  "$@" >"$log" 2>&1 &
  step_pid=$!
  set +m
  wait "$step_pid" || rc=$?
  step_pid=""
  local secs=$(( $(date +%s) - t0 ))
  local line
  line=$(printf '%-6s %-58s %5d s' "$([ $rc -eq 0 ] && echo '[ ok ]' || echo '[FAIL]')" "$name" "$secs")
  echo "$line"
  results+=("$line")
  if [ $rc -ne 0 ]; then
    failed=1
    echo "     (exit $rc) last lines of $log:"
    tail -25 "$log" | sed 's/^/     | /'
  fi
  return $rc
}

packages() { sed 's/#.*//' "$repo/scripts/fresh-machine/packages.txt" | tr -s ' \t' '\n' | grep -v '^$'; }

ensure_mmdebstrap() {
  command -v mmdebstrap >/dev/null && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
}

base_key() {
  { echo "$suite $mirror"; packages; } | sha256sum | cut -c1-16
}

build_base() {
  local tar=$1
  local include; include=$(packages | paste -sd, -)
  rm -f "$tar.tmp"
  mmdebstrap --mode=root --variant=apt --format=tar --include="$include" \
    --aptopt='Acquire::Retries "3"' \
    "$suite" "$tar.tmp" \
    "deb $mirror $suite main" \
    "deb $mirror $suite-updates main" \
    "deb ${mirror%/debian}/debian-security $suite-security main"
  mv "$tar.tmp" "$tar"
}

unpack_root() {
  local tar=$1
  mkdir -p "$root"
  tar -C "$root" -xpf "$tar"
  # What the host knows of names and DNS, and the certificate authorities the machine image
  # adds (a site's TLS proxy, say, without which Maven Central or PyPI fail over HTTPS): a
  # fresh machine of this kind has them too. Nothing else of the host goes in.
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  cp -L /etc/hosts "$root/etc/hosts"
  hostname > "$root/etc/hostname"
  if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
    cp -rL /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  mkdir -p "$root/var/cache/apt/archives/partial" "$cache/debs/partial"
}

clone_head() {
  local head; head=$(git -C "$repo" rev-parse HEAD)
  if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    echo "note: uncommitted changes in $repo are not part of the check (HEAD is $head)"
  fi
  git clone -q --no-hardlinks "$repo" "$root/work/pixelmill"
  git -C "$root/work/pixelmill" checkout -q --detach "$head"
  echo "clean clone of $head"
}

# The machine's own certificate authorities into the root's trust stores (the system bundle
# and, through ca-certificates-java, Java's cacerts that Maven uses).
trust_host_cas() {
  in_root "update-ca-certificates"
}

# in_root COMMAND (run as a step, in its own subshell, which it replaces): runs a shell command inside the root, in new mount and PID namespaces:
# /proc of its own, /sys and /dev from the host, the .deb cache; HOME=/root, CI=true.
in_root() {
  local cmd=$1
  exec unshare --mount --pid --fork --kill-child --propagation private -- bash -euc '
    root=$1 debs=$2 cmd=$3
    # The root a mount point of its own, as on a real machine: tools that make "/" private
    # in a namespace of their own (unshare --mount) refuse a plain directory.
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=755 tmpfs "$root/run"
    mount --bind "$debs" "$root/var/cache/apt/archives"
    exec chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 CI=true TERM=dumb \
      bash -lc "cd /work/pixelmill && $cmd"
  ' in_root "$root" "$cache/debs" "$cmd"
}

no_leftovers() {
  local mounts procs=0 p
  mounts=$(awk -v r="$root" '$2 == r || index($2, r "/") == 1' /proc/self/mounts | wc -l)
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && procs=$((procs + 1))
  done
  echo "mounts under the root: $mounts; processes inside it: $procs"
  [ "$mounts" -eq 0 ] && [ "$procs" -eq 0 ]
}

t_start=$(date +%s)
mkdir -p "$cache" "$work_base"
run_dir=$(mktemp -d "$work_base/run-$(date +%Y%m%d-%H%M%S)-XXXX")
chmod 700 "$run_dir"
mkdir -p "$run_dir/logs"
root=$run_dir/root
say "checking $(git -C "$repo" rev-parse --short HEAD) of $repo in $root"

step "mmdebstrap (Debian package) present" ensure_mmdebstrap || exit 1
tarball=$cache/base-$suite-$(base_key).tar
if [ $rebuild -eq 1 ] || [ ! -s "$tarball" ]; then
  step "base root: Debian 12, $(packages | wc -l) packages (mmdebstrap)" build_base "$tarball" || exit 1
else
  echo "---- base root cached: $tarball"
fi
step "unpack a fresh root from the base" unpack_root "$tarball" || exit 1
step "clean clone of HEAD into the root" clone_head || exit 1
step "the machine's CA certificates trusted in the root" trust_host_cas || exit 1
if [ "$only" != test ]; then
  step "README command 1: scripts/demo.sh" in_root "scripts/demo.sh" || true
fi
if [ "$only" != demo ]; then
  quoted=""
  [ ${#ctest_args[@]} -eq 0 ] || quoted=$(printf ' %q' "${ctest_args[@]}")
  step "README command 2: scripts/test.sh$quoted" in_root "scripts/test.sh$quoted" || true
fi
step "no mounts or processes left in the root" no_leftovers || true

echo
echo "==== summary ($(( $(date +%s) - t_start )) s in all)"
printf '%s\n' "${results[@]}"
if [ $failed -eq 0 ]; then say "PASS"; else say "FAIL"; fi
exit $failed
