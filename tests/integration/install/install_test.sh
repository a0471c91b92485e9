#!/usr/bin/env bash
# Installs this build into a temporary prefix, moves the prefix elsewhere (a shared prefix
# is often mounted at another path on the nodes), and runs `pixelmill extract` from it with
# the build tree and the source tree hidden (empty tmpfs over both, in a mount namespace
# of its own): the binary must find its default model and card under its own prefix.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
if [ ! -f "$src/models/sscd_distilled.onnx" ]; then
  [ "${CI:-}" = true ] && fail "models/sscd_distilled.onnx is not fetched (scripts/fetch-models.sh)"
  echo "models/sscd_distilled.onnx not fetched (scripts/fetch-models.sh): skipped"; exit 77
fi
# A mount namespace of our own: root makes one directly (inside a chroot, where user
# namespaces are refused, too); anyone else through a user namespace.
ns=(unshare --mount)
[ "$(id -u)" -eq 0 ] || ns+=(--map-root-user)
"${ns[@]}" true 2>/dev/null ||
  fail "cannot make a mount namespace (${ns[*]}) to hide the build tree"

t=$(mktemp -d "${TMPDIR:-/tmp}/pm-install.XXXXXX")
trap 'rm -rf "$t"' EXIT
cmake --install "$build" --prefix "$t/prefix" >"$t/install.log" || { cat "$t/install.log"; fail "cmake --install"; }
for f in bin/pixelmill share/pixelmill/models/sscd_distilled.json \
         share/pixelmill/models/sscd_distilled.onnx share/pixelmill/slurm/pixelmill-extract.sbatch \
         share/pixelmill/slurm/pixelmill-nightly.sbatch share/doc/pixelmill/README.md; do
  [ -e "$t/prefix/$f" ] || fail "the install lacks $f"
done
for job in pixelmill-extract pixelmill-nightly; do
  grep -q "^PIXELMILL=\${PIXELMILL:-$t/prefix/bin/pixelmill}" "$t/prefix/share/pixelmill/slurm/$job.sbatch" ||
    fail "the installed $job.sbatch does not default to the installed binary"
  bash -n "$t/prefix/share/pixelmill/slurm/$job.sbatch" || fail "the installed $job.sbatch does not parse"
done
mv "$t/prefix" "$t/moved"
prefix=$t/moved

mkdir -p "$t/photos" "$t/work"
n=0
for p in /usr/share/darknet/data/{dog,horses,person}.jpg; do
  [ -f "$p" ] && cp "$p" "$t/photos/" && n=$((n + 1))
done
[ $n -eq 3 ] || fail "Debian's darknet photos are missing (scripts/deps/core.txt)"

# Sanitizer suppression files named by the environment (scripts/test.sh --sanitize) live in
# the source tree, which the namespace hides: they go along as copies.
for var in LSAN_OPTIONS UBSAN_OPTIONS; do
  opts=${!var:-}
  [[ $opts =~ suppressions=([^:]*) ]] || continue
  cp "${BASH_REMATCH[1]}" "$t/$var.supp"
  export "$var=${opts/suppressions=${BASH_REMATCH[1]}/suppressions=$t/$var.supp}"
done

# In the namespace: the trees hidden, the working directory outside both, no --model.
"${ns[@]}" bash -euc '
  build=$1 src=$2 prefix=$3 t=$4
  mount -t tmpfs none "$build"
  mount -t tmpfs none "$src"  # covers the build tree too when it lies inside
  [ ! -e "$src/models" ] && [ ! -e "$build/src" ] || { echo "the trees are still visible"; exit 1; }
  cd "$t/work"
  "$prefix/bin/pixelmill" extract --help > help.txt
  "$prefix/bin/pixelmill" extract --input "dir:$t/photos" --output "$t/work/default.h5" --quiet
  "$prefix/bin/pixelmill" extract --input "dir:$t/photos" --output "$t/work/card.h5" --quiet \
    --model "$prefix/share/pixelmill/models/sscd_distilled.json"
' ns "$build" "$src" "$prefix" "$t" || fail "extract from the prefix failed"

grep -q -- "$prefix/share/pixelmill/models/sscd_distilled.onnx" "$t/work/help.txt" ||
  fail "--help does not show the prefix's default model: $(grep -A1 -- --model "$t/work/help.txt")"
/usr/bin/python3 - "$t/work/default.h5" "$t/work/card.h5" "$prefix" <<'PY' || fail "output check"
import json, sys
import h5py, numpy as np
default, card, prefix = sys.argv[1:]
with open(f"{prefix}/share/pixelmill/models/sscd_distilled.json") as f:
    pinned = json.load(f)["sha256"]
embs = []
for path in (default, card):
    with h5py.File(path, "r") as f:
        status = f["/images/status"][:]
        assert len(status) == 3 and (status == 0).all(), f"{path}: status {status}"
        # String attributes are fixed-length (h5py: bytes); older files' are str.
        attrs = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        assert attrs["model_sha256"] == pinned, attrs["model_sha256"]
        assert int(attrs["complete"]) == 1
        params = json.loads(attrs["parameters"])
        embs.append(f["/images/embedding"][:])
    if path == default:
        want = f"{prefix}/share/pixelmill/models/sscd_distilled.onnx"
        assert params["model"] == want, f"the default model was {params['model']}, not {want}"
assert np.array_equal(embs[0], embs[1]), "--model CARD gave other embeddings than the default"
print(f"ok: 3 photos embedded by the installed binary with {prefix}'s default model")
PY
echo "PASS: installed, moved, and run from $prefix with the build and source trees hidden"
