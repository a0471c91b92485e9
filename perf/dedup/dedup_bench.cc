// Benchmarks of the dedup join (PERF.md: warm-up, median of runs with min and max,
// thread counts fixed and printed, each figure beside its peer).
//
//   pm_dedup_bench kernel [--block 8192] [--dim 512] [--runs 5]
//       one thread: the FMA peak (12 chains of 512-bit FMAs, measured in this process),
//       the join of two blocks (oneDNN matmul tiles + threshold scan, BlockJoiner) in
//       fp32 and in bf16 (candidates confirmed exactly),
//       the same tiles as plain OpenBLAS sgemm calls, and one OpenBLAS sgemm of the
//       whole blocks.
//   pm_dedup_bench objects [--dim 512] [--bf16 1] [--repeat 1]
//       the RSS one BlockJoiner adds in oneDNN (memory_bound.h, kJoinerLibraryBytes)
//   mpirun -np R pm_dedup_bench scale --rows N [--dim 512] [--block-rows 8192] [--bf16 1]
//       the whole distributed dedup (exact groups, ring join, components) of N
//       synthetic embeddings (clusters of near-copies among random rows): time,
//       GFLOP/s, transfer wait, pairs, groups, peak RSS per rank against the memory bound
//       of memory_bound.h (its terms printed before the run; --stages 1 prints rank 0's
//       RSS at each stage of the dedup).
#include <immintrin.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#ifdef PM_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

#include "block_join.h"
#include "dedup_core.h"
#include "memory_bound.h"
#include "pixelmill/process_memory.h"
#include "pixelmill/comm.h"

namespace pm::dedup {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Stats {
  double min, median, max;
};

template <class F>
Stats measure(int runs, F&& f) {
  f();  // warm-up
  std::vector<double> v;
  for (int i = 0; i < runs; ++i) v.push_back(f());
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2], v.back()};
}

// GFLOP/s of 12 independent 512-bit FMA chains for ~0.2 s: the throughput ceiling.
__attribute__((target("avx512f"))) double fma_peak_gflops() {
  constexpr int kChains = 12;
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.01f * c);
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  const long iters = 20'000'000;
  const double t0 = now();
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  const double t = now() - t0;
  alignas(64) float lanes[16];
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  _mm512_store_ps(lanes, s);
  volatile float sink = lanes[0];
  (void)sink;
  return 2.0 * 16 * kChains * iters / t * 1e-9;
}

std::vector<float> embeddings(std::int64_t first, std::int64_t rows, int dim) {
  // Row i is reproducible from i alone, so every rank makes its own share. One row in
  // 100 starts a cluster of 3 near-copies (cosine about 0.9) of the same centre.
  std::vector<float> out(static_cast<std::size_t>(rows * dim));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = first + r;
    const std::int64_t cluster = i % 100 < 3 ? i / 100 : -1;
    std::mt19937_64 centre(static_cast<std::uint64_t>(cluster >= 0 ? 1'000'000'007LL + cluster : i));
    std::mt19937_64 noise(static_cast<std::uint64_t>(i) * 7919 + 3);
    std::normal_distribution<float> nd(0.f, 1.f);
    float* e = out.data() + r * dim;
    for (int k = 0; k < dim; ++k) e[k] = nd(centre);
    if (cluster >= 0)
      for (int k = 0; k < dim; ++k) e[k] += 0.35f * nd(noise);
    double n = 0;
    for (int k = 0; k < dim; ++k) n += double(e[k]) * e[k];
    const float inv = static_cast<float>(1 / std::sqrt(n));
    for (int k = 0; k < dim; ++k) e[k] *= inv;
  }
  return out;
}

std::int64_t status_bytes(const char* field) { return pm::process_status_bytes(field); }

constexpr double kMiB = 1024.0 * 1024.0;

long peak_rss_mb() { return static_cast<long>(status_bytes("VmHWM") / kMiB); }

std::int64_t arg(int argc, char** argv, const char* name, std::int64_t fallback) {
  for (int i = 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
  return fallback;
}

int kernel(int argc, char** argv) {
  const std::int64_t block = arg(argc, argv, "--block", 8192);
  const int dim = static_cast<int>(arg(argc, argv, "--dim", 512));
  const int runs = static_cast<int>(arg(argc, argv, "--runs", 5));
  const double flop = 2.0 * block * block * dim;
  const std::vector<float> a = embeddings(0, block, dim), b = embeddings(block * 7, block, dim);
  std::vector<std::int64_t> ids_a(block), ids_b(block);
  for (std::int64_t i = 0; i < block; ++i) ids_a[i] = i, ids_b[i] = block + i;
  const BlockView va{a.data(), ids_a.data(), block, dim}, vb{b.data(), ids_b.data(), block, dim};
  std::printf("dedup join kernel: two blocks of %lld x %d fp32, 1 thread (OMP_NUM_THREADS=%s)\n",
              static_cast<long long>(block), dim, std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "unset");
  const Stats peak = measure(runs, [] { return fma_peak_gflops(); });
  std::printf("%-44s %8s %8s %8s %8s\n", "figure (GFLOP/s)", "min", "median", "max", "of peak");
  std::printf("%-44s %8.1f %8.1f %8.1f %8s\n", "FMA peak (12 chains, avx512)", peak.min, peak.median, peak.max, "");
  auto row = [&](const char* name, const Stats& s) {
    std::printf("%-44s %8.1f %8.1f %8.1f %7.0f%%\n", name, s.min, s.median, s.max, 100 * s.median / peak.median);
  };
  std::size_t pairs = 0;
  const Stats join = measure(runs, [&] {
    BlockJoiner j(dim, 0.75f, 1024);
    std::vector<ScoredPair> out;
    const double t0 = now();
    j.join(va, vb, false, out);
    const double t = now() - t0;
    pairs = out.size();
    return flop / t * 1e-9;
  });
  row("join: oneDNN matmul 1024-tiles + scan", join);
  std::size_t pairs16 = 0;
  std::int64_t rechecked16 = 0;
  const Stats join16 = measure(runs, [&] {
    BlockJoiner j(dim, 0.75f, 1024, JoinPrecision::kBF16);
    std::vector<ScoredPair> out;
    const double t0 = now();
    j.join(va, vb, false, out);
    const double t = now() - t0;
    pairs16 = out.size();
    rechecked16 = j.rechecked();
    return flop / t * 1e-9;
  });
  row("join bf16: bf16 matmul tiles + exact re-check", join16);
  std::printf("ratio join bf16 / join fp32: %.2f (pairs %zu and %zu, %lld candidates re-checked)\n",
              join16.median / join.median, pairs16, pairs, static_cast<long long>(rechecked16));
#ifdef PM_HAVE_OPENBLAS
  openblas_set_num_threads(1);
  std::vector<float> c(1024 * 1024);
  const Stats tiles = measure(runs, [&] {
    const double t0 = now();
    for (std::int64_t i0 = 0; i0 < block; i0 += 1024)
      for (std::int64_t j0 = 0; j0 < block; j0 += 1024) {
        const int m = static_cast<int>(std::min<std::int64_t>(1024, block - i0));
        const int n = static_cast<int>(std::min<std::int64_t>(1024, block - j0));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, dim, 1.f, a.data() + i0 * dim, dim,
                    b.data() + j0 * dim, dim, 0.f, c.data(), n);
      }
    return flop / (now() - t0) * 1e-9;
  });
  row("OpenBLAS sgemm, same 1024-tiles, no scan", tiles);
  std::vector<float> whole(static_cast<std::size_t>(block * block));
  const Stats big = measure(runs, [&] {
    const double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(block), static_cast<int>(block), dim,
                1.f, a.data(), dim, b.data(), dim, 0.f, whole.data(), static_cast<int>(block));
    return flop / (now() - t0) * 1e-9;
  });
  row("OpenBLAS sgemm, whole blocks in one call", big);
  std::printf("ratio join / OpenBLAS tiles: %.2f, join / OpenBLAS whole: %.2f\n", join.median / tiles.median,
              join.median / big.median);
#else
  std::printf("(OpenBLAS not found at build time: no peer figure)\n");
#endif
  std::printf("pairs >= 0.75 found per join: %zu\n", pairs);
  return 0;
}

// What a BlockJoiner holds beyond its tile buffers once it has run each kind of tile
// (memory_bound.h, kJoinerLibraryBytes): RSS after the blocks exist, after the first full
// tile, after edge tiles of new shapes (one runtime-shape primitive), after repeats.
int objects(int argc, char** argv) {
  const int dim = static_cast<int>(arg(argc, argv, "--dim", 512));
  const bool bf16 = arg(argc, argv, "--bf16", 0) != 0;
  const JoinPrecision precision = bf16 ? JoinPrecision::kBF16 : JoinPrecision::kF32;
  const std::int64_t rows = 3000;
  const std::vector<float> a = embeddings(0, rows, dim), b = embeddings(rows * 7, rows, dim);
  std::vector<std::int64_t> ids_a(rows), ids_b(rows);
  for (std::int64_t i = 0; i < rows; ++i) ids_a[i] = i, ids_b[i] = rows + i;
  auto view = [&](const std::vector<float>& d, const std::vector<std::int64_t>& ids, std::int64_t n) {
    return BlockView{d.data(), ids.data(), n, dim};
  };
  std::vector<ScoredPair> out;
  out.reserve(1 << 16);
  const double before = status_bytes("VmRSS") / kMiB;
  BlockJoiner joiner(dim, 0.75f, 1024, precision);
  const double tiles = 1024.0 * 1024 * 4 / kMiB + (bf16 ? 2.0 * 1024 * dim * 2 / kMiB : 0.0) +
                       BlockJoiner::scratchpad_bytes(dim, 1024, precision) / kMiB;
  std::printf("%s BlockJoiner, dim %d: tile buffers + scratchpad %.2f MiB\n", join_precision_name(precision),
              dim, tiles);
  auto step = [&](const char* what, std::int64_t m, std::int64_t n) {
    joiner.join(view(a, ids_a, m), view(b, ids_b, n), false, out);
    std::printf("  after %-34s RSS - before - tile buffers = %6.2f MiB\n", what,
                status_bytes("VmRSS") / kMiB - before - tiles);
  };
  step("1024 x 1024 (the full tile)", 1024, 1024);
  step("1024 x 1024 again", 1024, 1024);
  step("700 x 300 (edge tile, runtime shape)", 700, 300);
  step("1000 x 37", 1000, 37);
  step("3000 x 3000 (full and edge tiles)", 3000, 3000);
  for (int i = 0; i < arg(argc, argv, "--repeat", 1); ++i) step("3000 x 3000 again", 3000, 3000);
  return 0;
}

// One rank's share of the synthetic data set: rows [begin, end) of embeddings(), usable,
// with content hashes that make every 1000th file a byte-identical upload of the one
// before it.
NodeBlock synthetic_block(std::int64_t begin, std::int64_t end, int dim) {
  NodeBlock b;
  b.first_node = begin;
  b.dim = dim;
  b.embedding = embeddings(begin, end - begin, dim);
  b.usable.assign(static_cast<std::size_t>(end - begin), 1);
  b.hash.resize(static_cast<std::size_t>(end - begin));
  for (std::int64_t i = begin; i < end; ++i) {
    const std::int64_t content = (i % 1000 == 1) ? i - 1 : i;
    std::memcpy(b.hash[i - begin].data(), &content, sizeof content);
    b.hash[i - begin][31] = 1;
  }
  return b;
}

// Before any data: the whole dedup of a few rows per rank (so MPI, OpenMP, oneDNN and
// the code pages of every stage are loaded; chunks large enough for MPI's rendezvous
// path), then one matmul of every tile shape the run will use on zero rows (oneDNN
// compiles a kernel per shape and keeps it, with its gemm workspace; the tile scores
// the warm-up frees are the bound's tile term).
void warm_up(const Comm& comm, int dim, const JoinConfig& config, std::int64_t n) {
  {
    constexpr std::int64_t kRows = 64;
    JoinConfig warm;
    warm.threshold = config.threshold;
    warm.block_rows = kRows / 2;
    warm.tile = 16;
    warm.precision = config.precision;
    const std::int64_t first = 1000 + kRows * comm.rank();
    (void)dedup_nodes(comm, synthetic_block(first, first + kRows, dim), NodeBlock{}, warm);
  }
  std::vector<std::int64_t> rows;
  for (int r = 0; r < comm.size(); ++r)
    rows.push_back(n * (r + 1) / comm.size() - n * r / comm.size());
  const std::vector<std::int64_t> sides = join_tile_sides(rows, config.block_rows, config.tile);
  const std::int64_t most = sides.back();
  const std::vector<float> zeros(static_cast<std::size_t>(most * dim), 0.f);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(2 * most));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  BlockJoiner joiner(dim, config.threshold, config.tile, config.precision);
  std::vector<ScoredPair> none;
  for (const std::int64_t m : sides)
    for (const std::int64_t k : sides)
      joiner.join({zeros.data(), ids.data(), m, dim}, {zeros.data(), ids.data() + most, k, dim},
                  false, none);
}

int scale(int argc, char** argv, const Comm& comm) {
  const std::int64_t n = arg(argc, argv, "--rows", 100000);
  const int dim = static_cast<int>(arg(argc, argv, "--dim", 512));
  JoinConfig config;
  config.threshold = 0.75f;
  config.block_rows = arg(argc, argv, "--block-rows", 8192);
  config.tile = 1024;
  if (arg(argc, argv, "--bf16", 0) != 0) config.precision = JoinPrecision::kBF16;
  // Rank 0 reports progress once a minute, so a long run can be extrapolated.
  double last = now();
  double start = last;
  if (comm.rank() == 0)
    config.on_chunk = [&](std::int64_t done, std::int64_t total) {
      if (now() - last < 60 && done != total) return;
      last = now();
      std::printf("  progress (rank 0): %.0f of ~%.0f GFLOP, %.0f s, %.1f GFLOP/s, ETA %.0f s, peak RSS %ld MiB\n",
                  done * 1e-9, total * 1e-9, last - start, done * 1e-9 / (last - start),
                  (last - start) / std::max<std::int64_t>(done, 1) * std::max<std::int64_t>(total - done, 0), peak_rss_mb());
      std::fflush(stdout);
    };
  const bool stages = arg(argc, argv, "--stages", 0) != 0;
  if (stages && comm.rank() == 0)
    config.on_stage = [](const char* name) {
      std::printf("  stage (rank 0) %-24s RSS %7.1f MiB, peak %7.1f MiB\n", name,
                  status_bytes("VmRSS") / kMiB, status_bytes("VmHWM") / kMiB);
      std::fflush(stdout);
    };

  // The process baseline, before any data: MPI, OpenMP and oneDNN initialised by a ring
  // join of a few zero rows (messages large enough for MPI's rendezvous path), and one
  // matmul of every tile shape the run will use on zero rows (oneDNN compiles a kernel
  // per shape and keeps it, with its gemm workspace; the tile scores the warm-up freed
  // are the bound's tile term).
  warm_up(comm, dim, config, n);
  const std::int64_t baseline = comm.allreduce_max(status_bytes("VmRSS"));

  const std::int64_t begin = n * comm.rank() / comm.size(), end = n * (comm.rank() + 1) / comm.size();
  MemoryParams mp;
  mp.baseline_bytes = baseline;
  mp.rows = (n + comm.size() - 1) / comm.size();
  mp.travel_rows = mp.rows;
  mp.dim = dim;
  mp.block_rows = config.block_rows;
  mp.tile = config.tile;
  mp.scratchpad_bytes = BlockJoiner::scratchpad_bytes(dim, config.tile, config.precision);
  mp.bf16 = config.precision == JoinPrecision::kBF16;
  mp.pairs = 3 * ((n + 99) / 100);  // the planted pairs, all of them: a rank finds a share
  const MemoryBound bound = dedup_memory_bound(mp);
  if (comm.rank() == 0) {
    std::printf("memory bound per rank (memory_bound.h), predicted before the run:\n");
    std::printf("  baseline (measured, before data) %8.1f MiB\n", bound.baseline / kMiB);
    std::printf("  rows %lld x %d fp32                %8.1f MiB\n", static_cast<long long>(mp.rows), dim,
                bound.rows / kMiB);
    std::printf("  row ids + hashes (40 B/row)      %8.1f MiB\n", bound.bookkeeping / kMiB);
    std::printf("  2 ring buffers of %lld rows      %8.1f MiB\n",
                static_cast<long long>(std::min(mp.block_rows, mp.travel_rows)), bound.blocks / kMiB);
    std::printf("  tile %lld^2 fp32 + oneDNN scratchpad %.1f MiB  %8.1f MiB\n",
                static_cast<long long>(mp.tile), mp.scratchpad_bytes / kMiB, bound.tile / kMiB);
    std::printf("  oneDNN matmuls + gemm buffers    %8.1f MiB\n", bound.kernels / kMiB);
    std::printf("  pairs (%lld expected, x2 growth) %8.1f MiB\n", static_cast<long long>(mp.pairs),
                bound.pairs / kMiB);
    std::printf("  phases: prepare %.1f, join %.1f, grouping %.1f MiB\n", bound.prepare / kMiB,
                bound.join / kMiB, bound.grouping / kMiB);
    std::printf("  bound = baseline + largest phase  %8.1f MiB\n", bound.total / kMiB);
    std::fflush(stdout);
  }
  const double tg = now();
  NodeBlock fresh = synthetic_block(begin, end, dim);
  const double gen_s = comm.allreduce_max(now() - tg);
  const long rss_data = peak_rss_mb();
  comm.barrier();
  const double t0 = now();
  start = last = t0;
  const NodeResult r = dedup_nodes(comm, std::move(fresh), NodeBlock{}, config);
  const double total = comm.allreduce_max(now() - t0);
  std::int64_t nontrivial = 0;
  for (std::size_t i = 0; i < r.group.size(); ++i)
    if (r.group[i] != begin + static_cast<std::int64_t>(i)) ++nontrivial;
  const std::int64_t pairs = comm.allreduce_sum(static_cast<std::int64_t>(r.pairs.size()));
  const std::int64_t grouped = comm.allreduce_sum(nontrivial);
  const double gflop = comm.allreduce_sum(r.join.flops) * 1e-9;
  const double join_s = comm.allreduce_max(r.join.seconds);
  const double wait_s = comm.allreduce_max(r.join.wait_seconds);
  const std::int64_t rss = comm.allreduce_max(status_bytes("VmHWM"));
  const std::int64_t rss0 = comm.allreduce_max(static_cast<std::int64_t>(rss_data));
  if (comm.rank() == 0) {
    std::printf("dedup scale: %lld x %d embeddings, %d rank(s), block_rows %lld, %s matmuls, OMP_NUM_THREADS=%s\n",
                static_cast<long long>(n), dim, comm.size(), static_cast<long long>(config.block_rows),
                join_precision_name(config.precision),
                std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "unset");
    std::printf("  generate data        %.1f s\n", gen_s);
    std::printf("  dedup total          %.1f s (join %.1f s, of which waiting on transfers %.2f s)\n", total, join_s, wait_s);
    std::printf("  join work            %.0f GFLOP, %.1f GFLOP/s all ranks, %.1f GFLOP/s per rank\n", gflop,
                gflop / join_s, gflop / join_s / comm.size());
    std::printf("  pairs >= 0.75        %lld (expected about %lld)\n", static_cast<long long>(pairs),
                static_cast<long long>(3 * (n / 100)));
    std::printf("  rows in groups, not their id: %lld\n", static_cast<long long>(grouped));
    std::printf("  peak RSS per rank    %.1f MiB (baseline %.1f MiB, after generating data %lld MiB)\n",
                rss / kMiB, baseline / kMiB, static_cast<long long>(rss0));
    std::printf("  memory bound         %.1f MiB: within bound: %s (%.1f MiB to spare)\n", bound.total / kMiB,
                rss <= bound.total ? "yes" : "no", (bound.total - rss) / kMiB);
  }
  return 0;
}

}  // namespace
}  // namespace pm::dedup

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    pm::Comm comm(MPI_COMM_WORLD);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "kernel") {
      rc = comm.rank() == 0 ? pm::dedup::kernel(argc, argv) : 0;
    } else if (mode == "objects") {
      rc = comm.rank() == 0 ? pm::dedup::objects(argc, argv) : 0;
    } else if (mode == "scale") {
      rc = pm::dedup::scale(argc, argv, comm);
    } else {
      if (comm.rank() == 0) std::fprintf(stderr, "usage: pm_dedup_bench kernel|objects|scale [options]\n");
      rc = 2;
    }
  }
  MPI_Finalize();
  return rc;
}
