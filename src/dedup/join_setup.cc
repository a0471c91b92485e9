#include "join_setup.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "pixelmill/limits.h"

namespace pm::dedup {

JoinConfig join_config(const Comm& comm, const DedupOptions& options, DedupSummary& s) {
  JoinConfig config;
  config.threshold = static_cast<float>(options.threshold);
  config.block_rows = options.block_rows;
  config.tile = std::min<std::int64_t>(1024, options.block_rows);
  config.precision = parse_join_precision(options.join_precision);
  if (config.precision == JoinPrecision::kBF16 &&
      comm.allreduce_min(static_cast<std::int64_t>(cpu_has_bf16_matmul())) == 0) {
    // Emulated bf16 is slower than fp32: every rank runs fp32 (the pairs are the same).
    if (comm.rank() == 0)
      std::fprintf(stderr, "pixelmill dedup: warning: --join-precision bf16 needs AVX512_BF16 or AMX "
                           "on every rank; the join runs in fp32\n");
    config.precision = JoinPrecision::kF32;
  }
  s.join_precision = join_precision_name(config.precision);
  return config;
}

void size_ivf(const DedupOptions& options, std::int64_t total, IvfConfig& ivf) {
  ivf.max_imbalance = options.max_imbalance;
  if (options.index != "ivf") return;
  ivf.lists = options.lists > 0 ? options.lists
                                : static_cast<int>(std::clamp<double>(std::round(std::sqrt(static_cast<double>(total))),
                                                                      1.0, static_cast<double>(kMaxLists)));
  ivf.probe = options.probe;
  ivf.iterations = options.kmeans_iterations;
}

}  // namespace pm::dedup
