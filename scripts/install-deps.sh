#!/usr/bin/env bash
# Installs every Debian package that the build, the demo and the tests need.
# Idempotent: packages already installed are skipped without touching the network.
# The lists live in scripts/deps/*.txt (one package per line, '#' comments).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

mapfile -t wanted < <(cat "$here"/deps/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} Debian packages present"
else
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Non-Debian setup steps (Maven artifacts, npm peers, ...): scripts/deps/*.sh, each idempotent.
for step in "$here"/deps/*.sh; do
  [ -e "$step" ] || continue
  echo "install-deps: running $(basename "$step")"
  bash "$step"
done
echo "install-deps: done"
