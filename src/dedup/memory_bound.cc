#include "memory_bound.h"

#include <algorithm>

#include "block_join.h"
#include "pixelmill/image_result.h"

namespace pm::dedup {

std::vector<std::int64_t> join_tile_sides(const std::vector<std::int64_t>& rows,
                                          std::int64_t block_rows, std::int64_t tile) {
  std::vector<std::int64_t> sides{tile, block_rows % tile};
  for (const std::int64_t r : rows) {
    sides.push_back(std::min(r, tile));
    sides.push_back(r % tile);
    sides.push_back((r % block_rows) % tile);
  }
  std::erase(sides, 0);
  std::sort(sides.begin(), sides.end());
  sides.erase(std::unique(sides.begin(), sides.end()), sides.end());
  return sides;
}

MemoryBound dedup_memory_bound(const MemoryParams& p) {
  constexpr std::int64_t id_bytes = sizeof(std::int64_t);
  constexpr std::int64_t hash_bytes = sizeof(ContentHash);
  constexpr std::int64_t flag_bytes = sizeof(std::uint8_t);
  constexpr std::int64_t pair_bytes = sizeof(ScoredPair);
  constexpr std::int64_t edge_bytes = 2 * sizeof(std::int64_t);
  const std::int64_t row_bytes = static_cast<std::int64_t>(p.dim) * sizeof(float);

  MemoryBound b;
  b.baseline = p.baseline_bytes;
  b.rows = p.rows * row_bytes;
  b.bookkeeping = p.rows * (id_bytes + hash_bytes);
  b.blocks = 2 * std::min(p.block_rows, p.travel_rows) * (row_bytes + id_bytes);
  b.tile = p.tile * p.tile * static_cast<std::int64_t>(sizeof(float)) + p.scratchpad_bytes;
  if (p.bf16) b.tile += 2 * p.tile * p.dim * static_cast<std::int64_t>(sizeof(std::uint16_t));
  b.pairs = 2 * p.pairs * pair_bytes;
  b.kernels = kJoinerLibraryBytes;

  b.prepare = b.rows + b.bookkeeping + p.rows * flag_bytes;
  b.join = b.rows + b.bookkeeping + b.blocks + b.tile + b.kernels + b.pairs;
  // Grouping: the hash all-to-all (kGroupingBytesPerRow), or afterwards the exact groups
  // (2 x 8 per row), the edges (one per pair and per copy), the union-find nodes (two per
  // edge) and the group ids (8 per row); the pairs stay throughout.
  const std::int64_t edges = p.pairs + p.rows;
  const std::int64_t exchange = p.rows * kGroupingBytesPerRow;
  const std::int64_t components =
      p.rows * 3 * id_bytes + edges * (edge_bytes + 2 * kUnionFindBytesPerNode);
  b.grouping = b.pairs + std::max(exchange, components);
  b.total = b.baseline + std::max({b.prepare, b.join, b.grouping});
  return b;
}

}  // namespace pm::dedup
