#!/usr/bin/env bash
# The dedup benchmarks of PERF.md: the join kernel (fp32 and bf16) against the FMA peak
# and OpenBLAS (one thread), then the distributed dedup of 100k (fp32, then bf16) and 1M
# synthetic 512-d embeddings.
#   perf/dedup/run.sh [BUILD_DIR] [RANKS]
# 1M rows are ~2.6e14 flops per rank at 2 ranks: about 20 minutes per rank at the
# unloaded FMA peak of these machines; set PM_DEDUP_SKIP_1M=1 to leave it out. Each scale
# run prints its memory bound (src/dedup/memory_bound.h) before it starts and the peak RSS
# against it at the end; --stages 1 adds rank 0's RSS at each stage.
set -euo pipefail
build=${1:-build}
ranks=${2:-2}
bench=$build/perf/dedup/pm_dedup_bench
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
uptime
"$bench" kernel --block 8192 --runs 5
mpirun --oversubscribe --allow-run-as-root -np "$ranks" "$bench" scale --rows 100000 --stages 1
# The same with --join-precision bf16's kernel (fp32 figure just above: same run).
mpirun --oversubscribe --allow-run-as-root -np "$ranks" "$bench" scale --rows 100000 --bf16 1
if [ "${PM_DEDUP_SKIP_1M:-0}" != 1 ]; then
  mpirun --oversubscribe --allow-run-as-root -np "$ranks" "$bench" scale --rows 1000000 --stages 1
fi
