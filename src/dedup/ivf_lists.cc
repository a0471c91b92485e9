#include "ivf_lists.h"

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <numeric>

#include "block_join.h"
#include "pixelmill/error.h"

namespace pm::dedup {

namespace {

// Nearest `probe` of the candidates `cand` by exact score (desc), then list id (asc).
void pick_exact(const Quantizer& q, const float* x, std::vector<std::int32_t>& cand, int probe,
                std::int32_t* out) {
  std::vector<std::pair<double, std::int32_t>> scored;
  scored.reserve(cand.size());
  for (std::int32_t c : cand)
    scored.emplace_back(exact_dot(x, q.centroids.data() + static_cast<std::size_t>(c) * q.dim, q.dim), c);
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (int k = 0; k < probe; ++k) out[k] = scored[static_cast<std::size_t>(k)].second;
}

}  // namespace

std::uint64_t sample_key(std::int64_t id, std::uint64_t seed) {
  // splitmix64's finaliser: invertible, so distinct ids give distinct keys.
  std::uint64_t z = static_cast<std::uint64_t>(id) + seed * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool in_sample(std::int64_t id, std::uint64_t seed, double fraction) {
  if (fraction >= 1.0) return true;
  return static_cast<double>(sample_key(id, seed)) < fraction * 18446744073709551616.0;
}

std::vector<std::int32_t> probe_lists(const Quantizer& q, const float* rows, std::int64_t n,
                                      int probe) {
  PM_CHECK(probe >= 1 && probe <= q.lists, "probe_lists: probe must be in 1..lists");
  std::vector<std::int32_t> out(static_cast<std::size_t>(n * probe));
  if (n == 0) return out;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const std::int64_t block = 1024, lists = q.lists;
  std::vector<float> scores(static_cast<std::size_t>(block * lists));
  std::vector<std::int32_t> order(static_cast<std::size_t>(lists)), cand;
  for (std::int64_t i0 = 0; i0 < n; i0 += block) {
    const std::int64_t m = std::min(block, n - i0);
    const dnnl::memory::desc src_md({m, q.dim}, dt::f32, tag::ab);
    const dnnl::memory::desc wei_md({q.dim, lists}, dt::f32, tag::ba);
    const dnnl::memory::desc dst_md({m, lists}, dt::f32, tag::ab);
    const dnnl::matmul mm(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), engine));
    dnnl::memory src(src_md, engine, const_cast<float*>(rows + i0 * q.dim));
    dnnl::memory wei(wei_md, engine, const_cast<float*>(q.centroids.data()));
    dnnl::memory dst(dst_md, engine, scores.data());
    mm.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    stream.wait();
    for (std::int64_t i = 0; i < m; ++i) {
      const float* s = scores.data() + i * lists;
      std::iota(order.begin(), order.end(), 0);
      std::nth_element(order.begin(), order.begin() + (probe - 1), order.end(),
                       [s](std::int32_t a, std::int32_t b) { return s[a] > s[b]; });
      const float kth = s[order[static_cast<std::size_t>(probe - 1)]];
      // Every list that may be among the exact `probe` nearest, re-decided in double.
      cand.clear();
      for (std::int32_t c = 0; c < lists; ++c)
        if (s[c] >= kth - 2 * kProbeBand) cand.push_back(c);
      pick_exact(q, rows + (i0 + i) * q.dim, cand, probe, out.data() + (i0 + i) * probe);
    }
  }
  return out;
}

std::vector<std::int32_t> probe_lists_reference(const Quantizer& q, const float* rows,
                                                std::int64_t n, int probe) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(n * probe));
  std::vector<std::int32_t> all(static_cast<std::size_t>(q.lists));
  std::iota(all.begin(), all.end(), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<std::int32_t> cand = all;
    pick_exact(q, rows + i * q.dim, cand, probe, out.data() + i * probe);
  }
  return out;
}

void add_fixed(const float* row, int dim, std::int64_t* sums) {
  for (int k = 0; k < dim; ++k) sums[k] += std::llround(static_cast<double>(row[k]) * kFixedOne);
}

bool centroid_from_sums(const std::int64_t* sums, int dim, float* out) {
  double norm = 0;
  for (int k = 0; k < dim; ++k) norm += static_cast<double>(sums[k]) * static_cast<double>(sums[k]);
  if (!(norm > 0)) return false;
  norm = std::sqrt(norm);
  for (int k = 0; k < dim; ++k) out[k] = static_cast<float>(static_cast<double>(sums[k]) / norm);
  return true;
}

Quantizer train_quantizer_reference(const JoinRows& rows, const IvfConfig& config,
                                    std::int64_t total_rows) {
  const int dim = rows.dim;
  const auto n = static_cast<std::int64_t>(rows.ids.size());
  const double fraction =
      static_cast<double>(config.lists) * static_cast<double>(config.train_per_list) /
      static_cast<double>(std::max<std::int64_t>(1, total_rows));
  std::vector<std::int64_t> sample;
  for (std::int64_t i = 0; i < n; ++i)
    if (in_sample(rows.ids[i], config.seed, fraction)) sample.push_back(i);
  Quantizer q;
  q.dim = dim;
  q.lists = static_cast<int>(std::min<std::int64_t>(config.lists, static_cast<std::int64_t>(sample.size())));
  q.sample_rows = static_cast<std::int64_t>(sample.size());
  PM_CHECK(q.lists >= 1, "IVF: no rows to train the lists on");
  // Seeds: the sample rows with the smallest keys, in key order.
  std::vector<std::int64_t> by_key = sample;
  std::sort(by_key.begin(), by_key.end(), [&](std::int64_t a, std::int64_t b) {
    return sample_key(rows.ids[a], config.seed) < sample_key(rows.ids[b], config.seed);
  });
  q.centroids.resize(static_cast<std::size_t>(q.lists) * dim);
  for (int c = 0; c < q.lists; ++c)
    std::copy_n(rows.embedding.data() + by_key[c] * dim, dim, q.centroids.data() + static_cast<std::size_t>(c) * dim);
  for (int it = 0; it < config.iterations; ++it) {
    std::vector<std::int64_t> sums(static_cast<std::size_t>(q.lists) * dim, 0);
    std::vector<std::int64_t> count(static_cast<std::size_t>(q.lists), 0);
    std::vector<std::pair<double, std::int64_t>> far;  // (exact best score, node id)
    for (std::int64_t i : sample) {
      const float* x = rows.embedding.data() + i * dim;
      const std::int32_t home = probe_lists_reference(q, x, 1, 1)[0];
      add_fixed(x, dim, sums.data() + static_cast<std::size_t>(home) * dim);
      ++count[static_cast<std::size_t>(home)];
      far.emplace_back(exact_dot(x, q.centroids.data() + static_cast<std::size_t>(home) * dim, dim), rows.ids[i]);
    }
    std::sort(far.begin(), far.end());
    std::size_t next_far = 0;
    for (int c = 0; c < q.lists; ++c) {
      float* out = q.centroids.data() + static_cast<std::size_t>(c) * dim;
      if (count[static_cast<std::size_t>(c)] > 0 &&
          centroid_from_sums(sums.data() + static_cast<std::size_t>(c) * dim, dim, out))
        continue;
      // An empty list restarts at the sample row farthest from its own centroid.
      if (next_far < far.size()) {
        const std::int64_t id = far[next_far++].second;
        const auto at = std::lower_bound(rows.ids.begin(), rows.ids.end(), id) - rows.ids.begin();
        std::copy_n(rows.embedding.data() + at * dim, dim, out);
        ++q.reseeded;
      }
    }
    ++q.iterations;
  }
  return q;
}

std::vector<ScoredPair> ivf_pairs_reference(const JoinRows& rows, const Quantizer& q, int probe,
                                            float threshold, std::int64_t older_end) {
  const auto n = static_cast<std::int64_t>(rows.ids.size());
  const std::vector<std::int32_t> probes = probe_lists_reference(q, rows.embedding.data(), n, probe);
  auto probes_list = [&](std::int64_t i, std::int32_t list) {
    for (int k = 0; k < probe; ++k)
      if (probes[static_cast<std::size_t>(i * probe + k)] == list) return true;
    return false;
  };
  std::vector<ScoredPair> out;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      if (rows.ids[j] < older_end) continue;  // both older (ids increase)
      if (!probes_list(j, probes[static_cast<std::size_t>(i * probe)]) &&
          !probes_list(i, probes[static_cast<std::size_t>(j * probe)]))
        continue;
      const double s = exact_dot(rows.embedding.data() + i * rows.dim, rows.embedding.data() + j * rows.dim, rows.dim);
      if (s >= static_cast<double>(threshold))
        out.push_back({rows.ids[i], rows.ids[j], static_cast<float>(s)});
    }
  return out;
}

}  // namespace pm::dedup
