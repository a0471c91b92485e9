#include <cmath>

#include "dedup_core.h"

namespace pm::dedup {

JoinRows join_rows(const NodeBlock& block) {
  JoinRows out;
  out.dim = block.dim;
  for (std::int64_t i = 0; i < block.rows(); ++i) {
    if (!block.usable[i]) continue;
    const float* e = block.embedding.data() + i * block.dim;
    double norm = 0;
    for (int k = 0; k < block.dim; ++k) norm += static_cast<double>(e[k]) * e[k];
    if (!(norm > 0) || !std::isfinite(norm)) continue;
    // The file holds L2-normalised rows already; normalising again costs nothing and
    // makes the dot product a cosine even for inputs written by other tools.
    const double inv = 1.0 / std::sqrt(norm);
    for (int k = 0; k < block.dim; ++k) out.embedding.push_back(static_cast<float>(e[k] * inv));
    out.ids.push_back(block.first_node + i);
  }
  return out;
}

JoinRows take_join_rows(NodeBlock& block) {
  // Same as join_rows, but normalises and compacts the block's own buffer in place and
  // moves it out, so the rows are never held twice (1M x 512 floats are 2 GB).
  JoinRows out;
  out.dim = block.dim;
  out.embedding = std::move(block.embedding);
  block.embedding.clear();
  out.ids.reserve(static_cast<std::size_t>(block.rows()));
  const int d = block.dim;
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < block.rows(); ++i) {
    if (!block.usable[i]) continue;
    float* e = out.embedding.data() + i * d;
    double norm = 0;
    for (int k = 0; k < d; ++k) norm += static_cast<double>(e[k]) * e[k];
    if (!(norm > 0) || !std::isfinite(norm)) continue;
    const double inv = 1.0 / std::sqrt(norm);
    float* to = out.embedding.data() + kept * d;
    for (int k = 0; k < d; ++k) to[k] = static_cast<float>(e[k] * inv);
    out.ids.push_back(block.first_node + i);
    ++kept;
  }
  // No shrink_to_fit: it would hold the old and the new buffer at once, a higher peak
  // than keeping the unused tail (memory_bound.h counts every input row).
  out.embedding.resize(static_cast<std::size_t>(kept * d));
  return out;
}

}  // namespace pm::dedup
