#!/usr/bin/env bash
# Exports the torchvision zoo (random weights, fixed seed, dynamic batch, opset 17) that the
# engine's conformance tests and benchmarks use: scripts/make-zoo.sh OUTDIR [NAME ...].
# Idempotent: models already in OUTDIR are kept. Needs Debian's python3-torch and
# python3-torchvision (scripts/deps/peers.txt); exports offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [NAME ...]   (names: $0 --list)" >&2
  exit 2
fi
py=${PM_TORCH_PYTHON:-/usr/bin/python3}
if [ "$1" = "--list" ]; then exec "$py" "$here/export_zoo.py" --list /dev/null; fi
if ! "$py" -c 'import torch, torchvision' 2>/dev/null; then
  echo "make-zoo: $py cannot import torch/torchvision; run scripts/install-deps.sh" >&2
  exit 1
fi
# The exporter prints a warning per traced Python branch; those are expected here.
exec "$py" -W ignore "$here/export_zoo.py" "$@"
