#!/usr/bin/env bash
# Installs the engine's peer, ONNX Runtime (CPU), for the conformance tests
# (tests/integration/engine_zoo) and the benchmarks (perf/engine).
# Route: the `onnxruntime` wheel from PyPI, installed with `pip --target` into a directory
# of ours for Debian's /usr/bin/python3, without dependencies: the runner needs only
# numpy, which Debian's python3-numpy provides; nothing touches the system Python.
# Idempotent: an install that imports with the pinned version is kept.
# Where: $PM_PEERS_DIR (default: <repo>/perf/peers, git-ignored) /ort-<version>.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ver=${PM_ORT_VERSION:-1.30.0}
py=/usr/bin/python3
dest=${PM_PEERS_DIR:-$root/perf/peers}/ort-$ver

have() { PYTHONPATH="$dest" "$py" -c \
  "import onnxruntime as o, sys; sys.exit(o.__version__ != '$ver')" 2>/dev/null; }

if have; then
  echo "peers: onnxruntime $ver present in $dest"
  exit 0
fi
if ! "$py" -m pip --version >/dev/null 2>&1; then
  echo "peers: $py has no pip (Debian package python3-pip)" >&2
  exit 1
fi
echo "peers: installing onnxruntime==$ver from PyPI into $dest"
rm -rf "$dest.tmp"
# --no-deps: onnxruntime's other requirements (flatbuffers, protobuf, sympy, ...) serve
# its tools, not InferenceSession. PIP_BREAK_SYSTEM_PACKAGES is harmless with --target.
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
  "$py" -m pip install --quiet --no-deps --only-binary=:all: --target "$dest.tmp" "onnxruntime==$ver"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
have || { echo "peers: onnxruntime $ver installed in $dest but does not import" >&2; exit 1; }
echo "peers: onnxruntime $ver ready in $dest"
