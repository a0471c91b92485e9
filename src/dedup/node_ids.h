// Helpers shared by the distributed dedup and its reference.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dedup_core.h"

namespace pm::dedup {

inline std::vector<std::int64_t> node_ids(const NodeBlock& b) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(b.rows()));
  for (std::int64_t i = 0; i < b.rows(); ++i) ids[i] = b.first_node + i;
  return ids;
}

inline void sort_pairs(std::vector<ScoredPair>& pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
}

}  // namespace pm::dedup
