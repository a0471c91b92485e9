// search_run: each rank scores its share of the run's rows against every query (in double,
// fixed order, so the ranking does not depend on the split), keeps its best K per query,
// and rank 0 merges the shares' candidates.
#include "pixelmill/search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "block_join.h"
#include "ivf_lists.h"
#include "pixelmill/agreed.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/status.h"

namespace pm {

namespace {

struct Candidate {
  double cosine;
  std::int64_t row;
};

bool better(const Candidate& a, const Candidate& b) {
  return a.cosine != b.cosine ? a.cosine > b.cosine : a.row < b.row;
}

std::vector<float> normalised(const std::vector<float>& v, int dim) {
  std::vector<float> out = v;
  for (std::size_t r = 0; r * static_cast<std::size_t>(dim) < out.size(); ++r) {
    float* x = out.data() + r * static_cast<std::size_t>(dim);
    double n = 0;
    for (int k = 0; k < dim; ++k) n += static_cast<double>(x[k]) * x[k];
    const double inv = n > 0 ? 1.0 / std::sqrt(n) : 0.0;
    for (int k = 0; k < dim; ++k) x[k] = static_cast<float>(x[k] * inv);
  }
  return out;
}

// Keeps the best `top` of `c` (sorted best first).
void keep_best(std::vector<Candidate>& c, int top) {
  std::sort(c.begin(), c.end(), better);
  if (c.size() > static_cast<std::size_t>(top)) c.resize(static_cast<std::size_t>(top));
}

// The rows [begin, end) of the run that a query may meet: all of them, or with the
// index, those whose nearest list is one of the query's `probe` nearest.
struct Share {
  std::int64_t begin = 0;
  h5::ImageRows rows;
  std::vector<float> unit;                 // normalised embeddings of ok rows
  std::vector<std::int64_t> groups;        // /dedup/group, or empty
  std::map<std::int32_t, std::vector<std::int64_t>> by_list;  // list -> local rows
};

}  // namespace

std::vector<std::vector<SearchHit>> search_run(const Comm& comm, const SearchOptions& options,
                                               const std::vector<float>& queries, int dim,
                                               bool* used_index) {
  PM_CHECK(options.top >= 1, "search: --top must be at least 1");
  PM_CHECK(dim > 0 && queries.size() % static_cast<std::size_t>(dim) == 0, "search: bad query matrix");
  const auto nq = static_cast<std::int64_t>(queries.size() / static_cast<std::size_t>(dim));
  const std::vector<float> q = normalised(queries, dim);
  Share share;
  bool index = false;
  dedup::Quantizer lists;
  agreed(comm, "search: reading " + options.run, [&] {
    const std::int64_t n = h5::row_count(options.run);
    share.begin = n * comm.rank() / comm.size();
    const std::int64_t end = n * (comm.rank() + 1) / comm.size();
    share.rows = h5::read_images(options.run, share.begin, end);
    PM_CHECK(share.rows.embedding_dim == dim,
             "search: the run's embeddings have " + std::to_string(share.rows.embedding_dim) +
                 " dimensions, the queries " + std::to_string(dim));
    if (h5::has_dedup(options.run)) share.groups = h5::read_dedup_groups(options.run, share.begin, end).group;
    index = options.use_index && h5::has_index(options.run);
    if (index) {
      const h5::IndexData data = h5::read_index(options.run);
      lists.dim = data.dim;
      lists.lists = data.lists;
      lists.centroids = data.centroids;
      const std::vector<std::int32_t> home = h5::read_index_home(options.run, share.begin, end);
      for (std::size_t i = 0; i < home.size(); ++i)
        if (home[i] >= 0) share.by_list[home[i]].push_back(static_cast<std::int64_t>(i));
    }
  });
  share.unit = normalised(share.rows.embedding, dim);
  const auto count = static_cast<std::int64_t>(share.rows.status.size());
  const std::uint8_t ok = static_cast<std::uint8_t>(StatusCode::kOk);

  // This rank's best K per query.
  std::vector<std::vector<Candidate>> best(static_cast<std::size_t>(nq));
  std::vector<std::int32_t> probes;
  const int probe = index ? std::min(options.probe, lists.lists) : 0;
  if (index) probes = dedup::probe_lists(lists, q.data(), nq, probe);
  for (std::int64_t j = 0; j < nq; ++j) {
    const float* x = q.data() + j * dim;
    if (dedup::exact_dot(x, x, dim) == 0) continue;  // no embedding (a failed query): no hits
    auto score = [&](std::int64_t i) {
      if (share.rows.status[static_cast<std::size_t>(i)] != ok) return;
      const double c = dedup::exact_dot(x, share.unit.data() + i * dim, dim);
      if (c >= options.threshold) best[static_cast<std::size_t>(j)].push_back({c, share.begin + i});
    };
    if (index) {
      for (int k = 0; k < probe; ++k) {
        const auto it = share.by_list.find(probes[static_cast<std::size_t>(j * probe + k)]);
        if (it != share.by_list.end())
          for (std::int64_t i : it->second) score(i);
      }
    } else {
      for (std::int64_t i = 0; i < count; ++i) score(i);
    }
    keep_best(best[static_cast<std::size_t>(j)], options.top);
  }

  // Rank 0 gathers every rank's candidates (at most ranks x K per query) with their keys.
  std::string mine;
  for (std::int64_t j = 0; j < nq; ++j)
    for (const Candidate& c : best[static_cast<std::size_t>(j)]) {
      const auto local = static_cast<std::size_t>(c.row - share.begin);
      const std::string& key = share.rows.keys[local];
      const std::int64_t group = share.groups.empty() ? -1 : share.groups[local];
      const std::uint64_t len = key.size();
      mine.append(reinterpret_cast<const char*>(&j), sizeof j);
      mine.append(reinterpret_cast<const char*>(&c.cosine), sizeof c.cosine);
      mine.append(reinterpret_cast<const char*>(&c.row), sizeof c.row);
      mine.append(reinterpret_cast<const char*>(&group), sizeof group);
      mine.append(reinterpret_cast<const char*>(&len), sizeof len);
      mine.append(key);
    }
  const std::vector<std::string> parts = comm.allgatherv(mine);
  std::vector<std::vector<SearchHit>> out;
  if (used_index) *used_index = index;
  if (comm.rank() != 0) return out;
  std::vector<std::vector<std::pair<Candidate, SearchHit>>> merged(static_cast<std::size_t>(nq));
  for (const std::string& p : parts)
    for (std::size_t off = 0; off < p.size();) {
      std::int64_t j = 0, group = 0;
      Candidate c{};
      std::uint64_t len = 0;
      std::memcpy(&j, p.data() + off, sizeof j), off += sizeof j;
      std::memcpy(&c.cosine, p.data() + off, sizeof c.cosine), off += sizeof c.cosine;
      std::memcpy(&c.row, p.data() + off, sizeof c.row), off += sizeof c.row;
      std::memcpy(&group, p.data() + off, sizeof group), off += sizeof group;
      std::memcpy(&len, p.data() + off, sizeof len), off += sizeof len;
      SearchHit h;
      h.row = c.row;
      h.cosine = static_cast<float>(c.cosine);
      h.key.assign(p.data() + off, len);
      off += len;
      h.group = group;
      merged[static_cast<std::size_t>(j)].emplace_back(c, std::move(h));
    }
  const std::int64_t n = h5::row_count(options.run);
  out.resize(static_cast<std::size_t>(nq));
  for (std::int64_t j = 0; j < nq; ++j) {
    auto& m = merged[static_cast<std::size_t>(j)];
    std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return better(a.first, b.first); });
    if (m.size() > static_cast<std::size_t>(options.top)) m.resize(static_cast<std::size_t>(options.top));
    for (auto& [c, h] : m) {
      // Group ids below N are rows of the run (ids of older files have no key here).
      if (h.group >= 0 && h.group < n) h.group_key = h5::read_images(options.run, h.group, h.group + 1, false).keys[0];
      out[static_cast<std::size_t>(j)].push_back(std::move(h));
    }
  }
  return out;
}

std::vector<std::vector<SearchHit>> search_run_reference(const SearchOptions& options,
                                                         const std::vector<float>& queries,
                                                         int dim) {
  const h5::ImageRows rows = h5::read_images(options.run, 0, h5::row_count(options.run));
  const std::vector<float> q = normalised(queries, dim), unit = normalised(rows.embedding, dim);
  const auto nq = static_cast<std::int64_t>(queries.size() / static_cast<std::size_t>(dim));
  std::vector<std::vector<SearchHit>> out(static_cast<std::size_t>(nq));
  for (std::int64_t j = 0; j < nq; ++j) {
    std::vector<Candidate> c;
    for (std::size_t i = 0; i < rows.status.size(); ++i) {
      if (rows.status[i] != static_cast<std::uint8_t>(StatusCode::kOk)) continue;
      const double s = dedup::exact_dot(q.data() + j * dim, unit.data() + i * static_cast<std::size_t>(dim), dim);
      if (s >= options.threshold) c.push_back({s, static_cast<std::int64_t>(i)});
    }
    keep_best(c, options.top);
    for (const Candidate& x : c) {
      SearchHit h;
      h.row = x.row;
      h.cosine = static_cast<float>(x.cosine);
      h.key = rows.keys[static_cast<std::size_t>(x.row)];
      out[static_cast<std::size_t>(j)].push_back(h);
    }
  }
  return out;
}

}  // namespace pm
