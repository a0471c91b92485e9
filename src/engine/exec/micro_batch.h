// Micro-batching: running a batch through the network a few rows at a time, so that a
// memory-bound network's activations stay in the last-level cache. Only for graphs that
// are provably row-local (row i of every output depends on row i of the inputs only), so
// the split never changes what is computed.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "graph/graph.h"

namespace pm::engine {

struct BatchSplit {
  std::int64_t rows = 0;  // rows per chunk; 0 = run the whole batch at once
  int workers = 1;        // chunks run side by side, one OpenMP thread each
  std::string why;        // the reason, for verbose logs
};

// Facts about a graph at one row per batch, from shape inference at batch 1 and 2.
struct RowProfile {
  bool row_local = false;
  std::string why;                    // why not row-local
  std::int64_t macs_per_row = 0;      // Conv/ConvTranspose/Gemm/MatMul
  std::int64_t act_bytes_per_row = 0; // every non-constant value
  std::int64_t max_value_bytes_per_row = 0;
};

// `shapes`: the concrete input shapes of the call (dim 0 is the batch on every input).
RowProfile profile_rows(const Graph& g, const std::map<std::string, Dims>& shapes);

// Chooses the chunk for a batch of `batch` rows run with `threads` OpenMP threads:
// `opts.micro_batch` rows when it is > 0, none when < 0; with 0, chunks only a
// memory-bound network (fewer than kComputeBoundMacsPerByte MACs per activation byte), to
// rows whose largest activation, read and written, fits the last-level cache. Chunks run
// on up to `threads` workers of one OpenMP thread each: on MobileNetV2 at 2 threads that
// beats both threads sharing each chunk's small kernels by ~10%.
BatchSplit choose_batch_split(const RowProfile& p, std::int64_t batch, const EngineOptions& opts,
                              std::int64_t cache_bytes, int threads = 1);

inline constexpr double kComputeBoundMacsPerByte = 16.0;

// Size of the last-level data cache (sysconf), 32 MiB when the system does not say.
std::int64_t last_level_cache_bytes();

}  // namespace pm::engine
