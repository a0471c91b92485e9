#!/usr/bin/env bash
# Builds the demo image set from real photos shipped in Debian packages (darknet,
# opencv-doc, python3-skimage, python-matplotlib-data), plus near-duplicate variants of
# about a third of them, so that the demo shows duplicate groups.
#   scripts/make-demo-data.sh OUTDIR
# Writes OUTDIR/<theme>/<photo>, OUTDIR/near_dups/<variant>, and OUTDIR/MANIFEST.tsv
# (file, origin, transform). Deterministic: the same bytes on every run.
# The packages come from scripts/deps/image.txt (scripts/install-deps.sh).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
# Debian's python3 owns python3-opencv and python3-numpy; the python3 first on PATH may not.
exec /usr/bin/python3 "$here/make_demo_data.py" "$1"
