// Measures the arithmetic peak of this CPU per thread count: the denominator of every
// GFLOP/s figure in perf/ (PERF.md). Each thread runs 12 independent chains of 512-bit
// FMAs (enough to cover the FMA latency times the two FMA pipes of Zen 4/5 and Xeon), so
// the figure is the throughput limit, not the latency. A bf16 column uses vdpbf16ps
// (AVX512_BF16: 32 bf16 products summed into 16 fp32 lanes) with the same 12 chains.
// Without AVX-512 it falls back to 256-bit FMAs and says so.
//
//   pm_fma_peak [--threads 1,2] [--runs 5] [--ms 200] [--csv]
//
// The clock of these machines is hidden and moves with load, so every figure is a
// median of --runs measurements with min and max beside it.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace pm::perf {
namespace {

constexpr int kChains = 12;

// Folds the chains into one float. Stores and a scalar sum rather than
// _mm512_reduce_add_ps, whose GCC 12 implementation trips -Wuninitialized.
__attribute__((target("avx512f"))) float sum_lanes(const __m512 (&acc)[kChains]) {
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float s = 0;
  for (float v : lanes) s += v;
  return s;
}

// acc = acc * a + b on every chain; a slightly below 1 and a tiny b keep the values
// finite and normal forever, so no denormal slow path skews the figure.
__attribute__((target("avx512f"))) float fp32_chains_avx512(long iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.9999999f);
  const __m512 b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  return sum_lanes(acc);
}

__attribute__((target("avx2,fma"))) float fp32_chains_avx2(long iters) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.9999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float s = 0;
  for (float v : lanes) s += v;
  return s;
}

// Products of tiny bf16 values keep the fp32 accumulators far from overflow.
__attribute__((target("avx512f,avx512bf16"))) float bf16_chains_avx512(long iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(c));
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(1e-4f));
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  return sum_lanes(acc);
}

enum class Kind { kFp32Avx512, kFp32Avx2, kBf16Avx512 };

// FLOP per loop iteration of one thread: chains x lanes x 2 (multiply and add).
double flop_per_iter(Kind k) {
  switch (k) {
    case Kind::kFp32Avx512: return kChains * 16 * 2.0;
    case Kind::kFp32Avx2: return kChains * 8 * 2.0;
    case Kind::kBf16Avx512: return kChains * 32 * 2.0;
  }
  return 0;
}

float run_kernel(Kind k, long iters) {
  switch (k) {
    case Kind::kFp32Avx512: return fp32_chains_avx512(iters);
    case Kind::kFp32Avx2: return fp32_chains_avx2(iters);
    case Kind::kBf16Avx512: return bf16_chains_avx512(iters);
  }
  return 0;
}

volatile float g_sink;  // keeps the chains' results alive

// Seconds for `threads` threads to each run `iters` iterations (wall clock, all at once).
double time_threads(Kind k, int threads, long iters) {
  std::vector<float> out(static_cast<size_t>(threads));
  auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
  { out[static_cast<size_t>(omp_get_thread_num())] = run_kernel(k, iters); }
  auto t1 = std::chrono::steady_clock::now();
  float s = 0;
  for (float v : out) s += v;
  g_sink = s;
  return std::chrono::duration<double>(t1 - t0).count();
}

struct Stats {
  double median, min, max;
};

// GFLOP/s of `threads` threads together: median, min, max over `runs` timed runs of
// about `ms` milliseconds each, after one untimed warm-up that also calibrates.
Stats measure(Kind k, int threads, int runs, int ms) {
  long iters = 1'000'000;
  double t = time_threads(k, threads, iters);
  iters = std::max(1000L, static_cast<long>(static_cast<double>(iters) * (ms / 1000.0) / t));
  std::vector<double> g;
  for (int r = 0; r < runs; ++r) {
    double s = time_threads(k, threads, iters);
    g.push_back(flop_per_iter(k) * static_cast<double>(iters) * threads / s / 1e9);
  }
  std::sort(g.begin(), g.end());
  return {g[g.size() / 2], g.front(), g.back()};
}

std::vector<int> parse_threads(const char* s) {
  std::vector<int> v;
  std::string str(s);
  size_t pos = 0;
  while (pos < str.size()) {
    size_t comma = str.find(',', pos);
    if (comma == std::string::npos) comma = str.size();
    int n = std::atoi(str.substr(pos, comma - pos).c_str());
    if (n > 0) v.push_back(n);
    pos = comma + 1;
  }
  return v;
}

int usage() {
  std::fprintf(stderr, "usage: pm_fma_peak [--threads 1,2,...] [--runs N] [--ms MS] [--csv]\n");
  return 2;
}

}  // namespace
}  // namespace pm::perf

int main(int argc, char** argv) {
  using namespace pm::perf;
  int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> threads;
  for (int t = 1; t <= hw; t *= 2) threads.push_back(t);
  if (threads.back() != hw) threads.push_back(hw);
  int runs = 5, ms = 200;
  bool csv = false;
  for (int i = 1; i < argc; ++i) {
    bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--threads") && has_value) {
      threads = parse_threads(argv[++i]);
    } else if (!std::strcmp(argv[i], "--runs") && has_value) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--ms") && has_value) {
      ms = std::max(10, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--csv")) {
      csv = true;
    } else {
      return usage();
    }
  }
  if (threads.empty()) return usage();

  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    std::fprintf(stderr, "pm_fma_peak: this CPU has neither AVX-512 nor AVX2+FMA\n");
    return 1;
  }
  const Kind fp32 = avx512 ? Kind::kFp32Avx512 : Kind::kFp32Avx2;

  if (csv) {
    std::printf("threads,fp32_gflops,fp32_min,fp32_max,bf16_gflops,bf16_min,bf16_max\n");
  } else {
    std::printf("FMA peak: %d independent %s chains per thread, median of %d runs of ~%d ms\n",
                kChains, avx512 ? "512-bit" : "256-bit (no AVX-512)", runs, ms);
    std::printf("%8s  %28s  %28s\n", "threads", "fp32 GFLOP/s med [min, max]",
                bf16 ? "bf16 GFLOP/s med [min, max]" : "bf16 (no AVX512_BF16)");
  }
  for (int t : threads) {
    Stats f = measure(fp32, t, runs, ms);
    Stats b{0, 0, 0};
    if (bf16) b = measure(Kind::kBf16Avx512, t, runs, ms);
    if (csv) {
      std::printf("%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f\n", t, f.median, f.min, f.max, b.median,
                  b.min, b.max);
    } else {
      std::printf("%8d  %8.1f [%7.1f, %7.1f]  ", t, f.median, f.min, f.max);
      if (bf16) {
        std::printf("%8.1f [%7.1f, %7.1f]\n", b.median, b.min, b.max);
      } else {
        std::printf("%28s\n", "-");
      }
    }
    std::fflush(stdout);
  }
  return 0;
}
