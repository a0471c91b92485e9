#!/usr/bin/env bash
# slurm/pixelmill-extract.sbatch builds srun's arguments from the environment: EXTRA is split
# on blanks but never glob-expanded, an unset USER does not abort it under `set -u`, and
# MODEL is passed only when set. Runs the job file with bash and a stand-in srun that
# records its arguments (the real Slurm runs it in tests/integration/slurm).
#   sbatch_args_test.sh SOURCE_DIR
set -uo pipefail
src=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$t/bin" "$t/cwd"
cat > "$t/bin/srun" <<'SH'
#!/usr/bin/env bash
printf '%s\n' "$@" > "$ARGS_OUT"
SH
chmod +x "$t/bin/srun"
touch "$t/cwd/--evil-file"   # what an unquoted $EXTRA with '--*' would pick up

run_job() {  # run_job OUT [VAR=VALUE...]: the job file's srun arguments, one a line, in OUT
  local out=$1; shift
  (cd "$t/cwd" && env -u USER PATH="$t/bin:$PATH" ARGS_OUT="$out" INPUT=dir:/photos \
     "$@" bash "$src/slurm/pixelmill-extract.sbatch") || fail "the job file exited $?"
}

run_job "$t/a" EXTRA='--batch 32 --*' OUTPUT=/x/run.h5
grep -qx -- '--\*' "$t/a" || fail "EXTRA's '--*' did not reach srun as it was: $(tr '\n' ' ' < "$t/a")"
! grep -q -- 'evil' "$t/a" || fail "EXTRA was glob-expanded: $(tr '\n' ' ' < "$t/a")"
grep -qx -- '--batch' "$t/a" && grep -qx 32 "$t/a" || fail "EXTRA's flags are missing"
! grep -qx -- '--model' "$t/a" || fail "--model passed although MODEL is unset"

run_job "$t/b" MODEL=/m/card.json
grep -A1 -x -- '--model' "$t/b" | grep -qx /m/card.json || fail "MODEL was not passed as --model"
grep -A1 -x -- '--output' "$t/b" | grep -q "^/scratch/$(id -un)/pixelmill-" ||
  fail "the default OUTPUT does not use the user name when USER is unset: $(grep -A1 -x -- --output "$t/b")"
echo "PASS: EXTRA split without globbing, USER unset tolerated, MODEL only when set"
