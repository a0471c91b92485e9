// The distributed all-pairs join. Every rank holds a "home" block (its share of the
// rows); blocks of rows travel around the ring of ranks in chunks of `block_rows`, and
// each rank joins every chunk that passes against its home block (BlockJoiner, oneDNN
// matmul in tiles). The next chunk is in flight (pm::isend/irecv) while the current one
// is multiplied. Memory per rank: home + 2 chunk buffers + one tile (memory_bound.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "block_join.h"
#include "pixelmill/comm.h"

namespace pm::dedup {

// Rows held by one rank: L2-normalised embeddings and their node ids (increasing).
struct JoinRows {
  int dim = 0;
  std::vector<float> embedding;  // [ids.size(), dim]
  std::vector<std::int64_t> ids;
  BlockView view() const {
    return {embedding.data(), ids.data(), static_cast<std::int64_t>(ids.size()), dim};
  }
};

struct JoinStats {
  double seconds = 0;       // wall time of the join on this rank
  double wait_seconds = 0;  // time blocked on transfers (not hidden behind the matmul)
  double flops = 0;         // matmul flops on this rank
  std::int64_t chunks = 0;  // chunks received
  std::int64_t rechecked = 0;  // candidate scores recomputed exactly (BlockJoiner::rechecked)
};

struct JoinConfig {
  float threshold = 0.75f;
  std::int64_t block_rows = 8192;  // rows per travelling chunk
  std::int64_t tile = 1024;        // matmul tile side
  // bf16: candidates from bf16 matmuls, each confirmed exactly (the same pairs as fp32).
  JoinPrecision precision = JoinPrecision::kF32;
  // Called on this rank after each chunk joined with (flops done, flops expected on this
  // rank): progress for long runs.
  std::function<void(std::int64_t, std::int64_t)> on_chunk;
  // Called on this rank at the stages of dedup_nodes and the ring join ("join rows ready",
  // "ring buffers allocated", ...): where to measure memory.
  std::function<void(const char*)> on_stage;
};

// Collective. Self join of the union of all ranks' `home` rows: each unordered pair of
// rows once. Steps s = 1 .. floor(P/2) of the ring; with an even rank count the pair of
// blocks (r, r + P/2) is met by both ranks at the half-way step, and they split it by
// the parity of (home chunk + travelling chunk), block_rows rows per chunk.
std::vector<ScoredPair> ring_self_join(const Comm& comm, const JoinRows& home,
                                       const JoinConfig& config, JoinStats* stats = nullptr);

// Collective. Every rank's `home` rows against every rank's `visitors` rows (P - 1 steps,
// plus the local pair of blocks).
std::vector<ScoredPair> ring_cross_join(const Comm& comm, const JoinRows& home,
                                        const JoinRows& visitors, const JoinConfig& config,
                                        JoinStats* stats = nullptr);

}  // namespace pm::dedup
