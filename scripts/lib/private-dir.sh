# Sourced by the local-service scripts (hbase-local.sh, slurm-local.sh).
#
# private_state_dir DIR: makes DIR the caller's private state directory, or exits with a
# reason. A new directory is created with mode 0700; one that exists must be a real
# directory (not a symlink), owned by the caller and writable by no one else. State under a
# shared /tmp is otherwise a trap: another local user who creates the directory first
# decides the configuration, the classpath or the daemons' key that the caller then runs.
private_state_dir() {
  local d=$1 owner mode
  if [ ! -e "$d" ] && [ ! -L "$d" ]; then
    mkdir -p -- "$(dirname -- "$d")"
    # mkdir without -p fails if someone created it meanwhile; the checks below decide then.
    mkdir -m 700 -- "$d" 2>/dev/null || true
  fi
  if [ -L "$d" ]; then echo "state directory $d is a symbolic link: refusing to use it" >&2; exit 1; fi
  if [ ! -d "$d" ]; then echo "state directory $d is not a directory" >&2; exit 1; fi
  owner=$(stat -c %u -- "$d")
  if [ "$owner" != "$(id -u)" ]; then
    echo "state directory $d belongs to uid $owner, not to you (uid $(id -u)): refusing to use it" >&2
    exit 1
  fi
  mode=$(stat -c %a -- "$d")
  if (( (8#$mode & 8#022) != 0 )); then
    echo "state directory $d is writable by others (mode $mode): refusing to use it" >&2
    exit 1
  fi
}
