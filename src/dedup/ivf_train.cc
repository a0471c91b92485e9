// train_quantizer: spherical k-means on a sample, merged with one allreduce per iteration.
#include <algorithm>
#include <cstring>
#include <limits>

#include "block_join.h"
#include "ivf_join.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"

namespace pm::dedup {

namespace {

// A sample row as it travels: its key or score, its node id and its embedding.
std::vector<char> pack_rows(const std::vector<std::pair<double, std::int64_t>>& head,
                            const std::vector<const float*>& rows, int dim) {
  std::vector<char> out;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const char* a = reinterpret_cast<const char*>(&head[i].first);
    const char* b = reinterpret_cast<const char*>(&head[i].second);
    const char* e = reinterpret_cast<const char*>(rows[i]);
    out.insert(out.end(), a, a + sizeof(double));
    out.insert(out.end(), b, b + sizeof(std::int64_t));
    out.insert(out.end(), e, e + sizeof(float) * static_cast<std::size_t>(dim));
  }
  return out;
}

struct Candidate {
  double order;  // sample key (as double, only for ties of equal keys: none) or score
  std::uint64_t key;
  std::int64_t id;
  std::vector<float> row;
};

std::vector<Candidate> unpack_rows(const std::vector<char>& bytes, int dim) {
  std::vector<Candidate> out;
  const std::size_t rec = sizeof(double) + sizeof(std::int64_t) + sizeof(float) * static_cast<std::size_t>(dim);
  for (std::size_t off = 0; off + rec <= bytes.size(); off += rec) {
    Candidate c;
    std::memcpy(&c.order, bytes.data() + off, sizeof(double));
    std::memcpy(&c.id, bytes.data() + off + sizeof(double), sizeof(std::int64_t));
    c.row.resize(static_cast<std::size_t>(dim));
    std::memcpy(c.row.data(), bytes.data() + off + sizeof(double) + sizeof(std::int64_t),
                sizeof(float) * static_cast<std::size_t>(dim));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Quantizer train_quantizer(const Comm& comm, const std::vector<const JoinRows*>& parts,
                          const IvfConfig& config) {
  PM_CHECK(config.lists >= 1 && config.train_per_list >= 1 && config.iterations >= 0,
           "IVF: lists, rows per list and iterations must be positive");
  int dim = 0;
  std::int64_t local_rows = 0;
  for (const JoinRows* p : parts) {
    dim = std::max(dim, p->dim);
    local_rows += static_cast<std::int64_t>(p->ids.size());
  }
  dim = static_cast<int>(comm.allreduce_max(static_cast<std::int64_t>(dim)));
  const std::int64_t total = comm.allreduce_sum(local_rows);
  const double fraction = static_cast<double>(config.lists) *
                          static_cast<double>(config.train_per_list) /
                          static_cast<double>(std::max<std::int64_t>(1, total));

  // This rank's sample, contiguous (the matmul of each iteration runs over it).
  std::vector<float> sample;
  std::vector<std::int64_t> ids;
  std::vector<std::uint64_t> keys;
  for (const JoinRows* p : parts)
    for (std::size_t i = 0; i < p->ids.size(); ++i)
      if (in_sample(p->ids[i], config.seed, fraction)) {
        ids.push_back(p->ids[i]);
        keys.push_back(sample_key(p->ids[i], config.seed));
        sample.insert(sample.end(), p->embedding.begin() + static_cast<std::ptrdiff_t>(i * dim),
                      p->embedding.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
      }
  const auto s = static_cast<std::int64_t>(ids.size());
  Quantizer q;
  q.dim = dim;
  q.sample_rows = comm.allreduce_sum(s);
  q.lists = static_cast<int>(std::min<std::int64_t>(config.lists, q.sample_rows));
  PM_CHECK(q.lists >= 1, "IVF: no rows to train the lists on");

  // Seeds: the `lists` smallest keys of the whole sample. Keys never collide, so the
  // smallest bound T with `lists` keys <= T selects exactly them.
  std::vector<std::uint64_t> sorted_keys = keys;
  std::sort(sorted_keys.begin(), sorted_keys.end());
  auto count_le = [&](std::uint64_t t) {
    return comm.allreduce_sum(static_cast<std::int64_t>(
        std::upper_bound(sorted_keys.begin(), sorted_keys.end(), t) - sorted_keys.begin()));
  };
  std::uint64_t lo = 0, hi = std::numeric_limits<std::uint64_t>::max();
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (count_le(mid) >= q.lists) hi = mid; else lo = mid + 1;
  }
  {
    std::vector<std::pair<double, std::int64_t>> head;
    std::vector<const float*> rows;
    for (std::int64_t i = 0; i < s; ++i)
      if (keys[static_cast<std::size_t>(i)] <= lo) {
        head.emplace_back(0.0, ids[static_cast<std::size_t>(i)]);
        rows.push_back(sample.data() + i * dim);
      }
    std::vector<Candidate> seeds = unpack_rows(allgatherv_values(comm, pack_rows(head, rows, dim)), dim);
    for (Candidate& c : seeds) c.key = sample_key(c.id, config.seed);
    std::sort(seeds.begin(), seeds.end(), [](const Candidate& a, const Candidate& b) { return a.key < b.key; });
    PM_ASSERT(static_cast<int>(seeds.size()) == q.lists, "IVF: seed selection found " +
                                                            std::to_string(seeds.size()) + " rows");
    q.centroids.resize(static_cast<std::size_t>(q.lists) * dim);
    for (int c = 0; c < q.lists; ++c)
      std::copy(seeds[static_cast<std::size_t>(c)].row.begin(), seeds[static_cast<std::size_t>(c)].row.end(),
                q.centroids.begin() + static_cast<std::ptrdiff_t>(c) * dim);
  }

  const auto lists = static_cast<std::size_t>(q.lists);
  for (int it = 0; it < config.iterations; ++it) {
    const std::vector<std::int32_t> home = probe_lists(q, sample.data(), s, 1);
    q.flops += 2.0 * static_cast<double>(s) * q.lists * dim;
    // One allreduce: the fixed-point sums of every list, then the counts.
    std::vector<std::int64_t> acc(lists * dim + lists, 0);
    std::vector<std::pair<double, std::int64_t>> far;  // (exact score to its home, id)
    for (std::int64_t i = 0; i < s; ++i) {
      const auto h = static_cast<std::size_t>(home[static_cast<std::size_t>(i)]);
      const float* x = sample.data() + i * dim;
      add_fixed(x, dim, acc.data() + h * dim);
      ++acc[lists * dim + h];
      far.emplace_back(exact_dot(x, q.centroids.data() + h * dim, dim), ids[static_cast<std::size_t>(i)]);
    }
    comm.allreduce_sum(acc);
    std::vector<std::size_t> empty;
    for (std::size_t c = 0; c < lists; ++c)
      if (acc[lists * dim + c] == 0 ||
          !centroid_from_sums(acc.data() + c * dim, dim, q.centroids.data() + c * dim))
        empty.push_back(c);
    if (!empty.empty()) {
      // Each empty list restarts at one of the sample rows farthest from their centroid,
      // the k farthest of the whole sample: each rank offers its k farthest.
      std::vector<std::size_t> order(far.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return far[a] < far[b]; });
      order.resize(std::min(order.size(), empty.size()));
      std::vector<std::pair<double, std::int64_t>> head;
      std::vector<const float*> rows;
      for (std::size_t i : order) {
        head.push_back(far[i]);
        rows.push_back(sample.data() + static_cast<std::int64_t>(i) * dim);
      }
      std::vector<Candidate> offers = unpack_rows(allgatherv_values(comm, pack_rows(head, rows, dim)), dim);
      std::sort(offers.begin(), offers.end(), [](const Candidate& a, const Candidate& b) {
        return a.order != b.order ? a.order < b.order : a.id < b.id;
      });
      for (std::size_t k = 0; k < empty.size() && k < offers.size(); ++k) {
        std::copy(offers[k].row.begin(), offers[k].row.end(), q.centroids.begin() + static_cast<std::ptrdiff_t>(empty[k] * dim));
        ++q.reseeded;
      }
    }
    ++q.iterations;
  }
  return q;
}

}  // namespace pm::dedup
