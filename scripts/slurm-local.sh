#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for tests and local tries: munged,
# slurmctld and slurmd from Debian's packages (scripts/deps/slurm.txt), with their own
# key, socket, ports, state and logs under one directory; nothing in /etc is touched.
#
#   scripts/slurm-local.sh start    start what is not running; wait until `sinfo` shows the
#                                   node idle; print `export SLURM_CONF=...` last
#   scripts/slurm-local.sh stop     stop slurmd, slurmctld and munged (SIGTERM, then SIGKILL)
#   scripts/slurm-local.sh status   each daemon with its pid, and the SLURM_CONF line
#
# Environment:
#   PM_SLURM_HOME     state dir (default $TMPDIR/pixelmill-slurm-UID); must be the caller's
#                     own, not a symlink, writable by no one else (a new one is made 0700)
#   PM_SLURM_CPUS     CPUs of the node (default: nproc)
#   PM_SLURM_TIMEOUT  seconds to wait for the node (default 60)
#
# Clients need SLURM_CONF=$PM_SLURM_HOME/slurm.conf in their environment. srun's default
# MPI plugin is pmix, which Debian's Open MPI speaks (`srun pixelmill ...`).
set -euo pipefail
home=${PM_SLURM_HOME:-${TMPDIR:-/tmp}/pixelmill-slurm-$(id -u)}
cpus=${PM_SLURM_CPUS:-$(nproc)}
timeout_s=${PM_SLURM_TIMEOUT:-60}
conf=$home/slurm.conf

log() { echo "slurm-local: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/private-dir.sh
. "$(dirname "$0")/lib/private-dir.sh"

for tool in munged slurmctld slurmd sinfo; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh (scripts/deps/slurm.txt)"
done

# pid of our daemon NAME (its pid file names a live process started with our state dir).
running_pid() {
  local f=$home/$1.pid pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$home"; then
    echo "$pid"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
  local host ctld_port slurmd_port mem
  host=$(hostname -s)
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 / 2}' /proc/meminfo)
  mkdir -p "$home/state" "$home/spool" "$home/logs"
  cat > "$conf" <<EOF
# Written by scripts/slurm-local.sh: one node, everything under $home.
ClusterName=pixelmill-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$home/munge.sock
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$home/state
SlurmdSpoolDir=$home/spool
SlurmctldPidFile=$home/slurmctld.pid
SlurmdPidFile=$home/slurmd.pid
SlurmctldLogFile=$home/logs/slurmctld.log
SlurmdLogFile=$home/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
KillWait=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
}

start() {
  [ "$(id -u)" -eq 0 ] || die "slurmd must run as root (it starts jobs as their users)"
  if [ -z "$(running_pid munged)" ]; then
    [ -s "$home/munge.key" ] || { head -c 1024 /dev/urandom > "$home/munge.key"; chmod 400 "$home/munge.key"; }
    munged -f -S "$home/munge.sock" --key-file="$home/munge.key" --pid-file="$home/munged.pid" \
      --log-file="$home/munged.log" --seed-file="$home/munged.seed"
  fi
  if [ -z "$(running_pid slurmctld)" ] && [ -z "$(running_pid slurmd)" ]; then
    write_conf
  fi
  export SLURM_CONF=$conf
  # -i: ignore state from an earlier life of this directory (jobs of a stopped cluster).
  [ -n "$(running_pid slurmctld)" ] || slurmctld -f "$conf" -i
  [ -n "$(running_pid slurmd)" ] || slurmd -f "$conf"
  local deadline=$(( $(date +%s) + timeout_s )) state=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(sinfo -h -o '%T' 2>/dev/null | head -1 || true)
    case "$state" in idle|mixed|allocated) break ;; esac
    sleep 1
  done
  case "$state" in
    idle|mixed|allocated) ;;
    *) tail -5 "$home/logs/slurmctld.log" "$home/logs/slurmd.log" >&2 || true
       die "node not ready after ${timeout_s} s (state '${state:-none}'); logs in $home/logs" ;;
  esac
  log "one node ($(hostname -s), $cpus CPUs) $state"
  echo "export SLURM_CONF=$conf"
}

stop_one() {
  local name=$1 pid i
  pid=$(running_pid "$name")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  if [ -s "$conf" ] && [ -n "$(running_pid slurmctld)" ]; then
    SLURM_CONF=$conf scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  fi
  stop_one slurmd
  stop_one slurmctld
  stop_one munged
  log "stopped"
}

status() {
  local n p
  for n in munged slurmctld slurmd; do
    p=$(running_pid "$n")
    echo "$n: ${p:-not running}"
  done
  if [ -s "$conf" ]; then echo "export SLURM_CONF=$conf"; fi
}

case "${1:-}" in start|stop|status) private_state_dir "$home" ;; esac
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
