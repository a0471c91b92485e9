#!/usr/bin/env bash
# eval-dedup checks its options and its model before it touches --workdir, and never
# removes an images/ directory that it did not make.
#   eval_dedup_guard.sh PIXELMILL
set -uo pipefail
pixelmill=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$t/work/images"
echo "the user's own file" > "$t/work/images/keep.txt"

out=$("$pixelmill" eval-dedup --workdir "$t/work" --distractors -1 2>&1) && fail "a negative --distractors was accepted"
[ -f "$t/work/images/keep.txt" ] || fail "a bad option removed the user's files: $out"
out=$("$pixelmill" eval-dedup --workdir "$t/work" --model /no/such/model.onnx 2>&1) && fail "a missing model was accepted"
[ -f "$t/work/images/keep.txt" ] || fail "a missing model removed the user's files: $out"
out=$("$pixelmill" eval-dedup --workdir "$t/work" --distractors 0 2>&1) && fail "images/ of someone else was replaced"
[[ "$out" == *"was not made by eval-dedup"* ]] || fail "the refusal says: $out"
[ -f "$t/work/images/keep.txt" ] || fail "the user's images/ was removed"
[ ! -e "$t/work/eval.h5" ] || fail "a run file was written after the refusal"
echo "PASS: options and model checked first; a foreign images/ is refused and kept"
