// Synthetic embeddings for the dedup tests: clusters of near-duplicates (a centre plus
// small noise) among random distractors, L2-normalised, deterministic for a seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace pm::dedup::testing {

// rows x dim, row-major. Every `cluster_every`-th row starts a cluster of `cluster_size`
// rows that are noisy copies (noise `spread`) of one centre.
inline std::vector<float> clustered_embeddings(std::int64_t rows, int dim, std::uint32_t seed,
                                               int cluster_every = 7, int cluster_size = 3,
                                               float spread = 0.15f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> out(static_cast<std::size_t>(rows * dim));
  std::vector<float> centre(static_cast<std::size_t>(dim));
  int left_in_cluster = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    float* e = out.data() + i * dim;
    if (left_in_cluster == 0 && i % cluster_every == 0) {
      for (auto& c : centre) c = nd(gen);
      left_in_cluster = cluster_size;
    }
    if (left_in_cluster > 0) {
      for (int k = 0; k < dim; ++k) e[k] = centre[k] + spread * nd(gen);
      --left_in_cluster;
    } else {
      for (int k = 0; k < dim; ++k) e[k] = nd(gen);
    }
    double n = 0;
    for (int k = 0; k < dim; ++k) n += double(e[k]) * e[k];
    const float inv = static_cast<float>(1.0 / std::sqrt(n));
    for (int k = 0; k < dim; ++k) e[k] *= inv;
  }
  return out;
}

}  // namespace pm::dedup::testing
