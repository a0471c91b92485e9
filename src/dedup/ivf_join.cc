// ivf_join: lists owned by ranks, stored rows routed once, probing rows one wave per probe
// slot (pm::alltoallv), each list joined on its owner with BlockJoiner.
#include "ivf_join.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>
#include <queue>
#include <span>

#include "block_join.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"

namespace pm::dedup {

namespace {


// Lists to ranks, largest expected work first, each to the least loaded rank (ties: the
// lower list id, the lower rank): the same answer on every rank.
std::vector<int> assign_owners(const std::vector<std::int64_t>& stored,
                               const std::vector<std::int64_t>& probing, int ranks) {
  const std::size_t lists = stored.size();
  std::vector<double> work(lists);
  for (std::size_t l = 0; l < lists; ++l)
    work[l] = static_cast<double>(stored[l]) * static_cast<double>(probing[l]) +
              static_cast<double>(stored[l] + probing[l]);
  std::vector<std::size_t> order(lists);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return work[a] > work[b]; });
  // (load, rank), least loaded first: O(L log P) for any rank count.
  std::priority_queue<std::pair<double, int>, std::vector<std::pair<double, int>>, std::greater<>> load;
  for (int r = 0; r < ranks; ++r) load.emplace(0.0, r);
  std::vector<int> owner(lists, 0);
  for (std::size_t l : order) {
    auto [w, r] = load.top();
    load.pop();
    owner[l] = r;
    load.emplace(w + work[l], r);
  }
  return owner;
}

// Rows of one list on its owner, sorted by node id: embeddings, ids and one tag per row
// (stored rows: their probes, [rows, P]; probing rows: their home list).
struct ListRows {
  std::vector<std::int64_t> ids;
  std::vector<float> embedding;
  std::vector<std::int32_t> tags;
  int tag_width = 0;
  BlockView view(int dim) const {
    return {embedding.data(), ids.data(), static_cast<std::int64_t>(ids.size()), dim};
  }
};

// Record: [int64 id][int32 list][int32 tags x width][float x dim].
std::size_t record_bytes(int width, int dim) {
  return sizeof(std::int64_t) + sizeof(std::int32_t) * static_cast<std::size_t>(1 + width) +
         sizeof(float) * static_cast<std::size_t>(dim);
}

char* pack(char* p, std::int64_t id, std::int32_t list, const std::int32_t* tags, int width,
           const float* row, int dim) {
  std::memcpy(p, &id, sizeof id);
  p += sizeof id;
  std::memcpy(p, &list, sizeof list);
  p += sizeof list;
  std::memcpy(p, tags, sizeof(std::int32_t) * static_cast<std::size_t>(width));
  p += sizeof(std::int32_t) * static_cast<std::size_t>(width);
  std::memcpy(p, row, sizeof(float) * static_cast<std::size_t>(dim));
  return p + sizeof(float) * static_cast<std::size_t>(dim);
}

// Unpacks records into the lists this rank owns (`slot[list]`, -1 for others), each sorted
// by id: one pass counts, one sorts (id, record) per list, one copies every record once
// into `lists` (whose buffers are reused from wave to wave).
void unpack(std::span<const char> bytes, const std::vector<int>& slot, std::size_t owned,
            int width, int dim, std::vector<ListRows>& lists) {
  const std::size_t rec = record_bytes(width, dim);
  PM_ASSERT(bytes.size() % rec == 0, "IVF: a record was cut in transit");
  const std::size_t count = bytes.size() / rec;
  auto list_of = [&](std::size_t r) {
    std::int32_t list = 0;
    std::memcpy(&list, bytes.data() + r * rec + sizeof(std::int64_t), sizeof list);
    PM_ASSERT(list >= 0 && static_cast<std::size_t>(list) < slot.size() && slot[static_cast<std::size_t>(list)] >= 0,
              "IVF: a row reached a rank that does not own its list");
    return static_cast<std::size_t>(slot[static_cast<std::size_t>(list)]);
  };
  std::vector<std::size_t> start(owned + 1, 0);
  for (std::size_t r = 0; r < count; ++r) ++start[list_of(r) + 1];
  for (std::size_t l = 0; l < owned; ++l) start[l + 1] += start[l];
  std::vector<std::pair<std::int64_t, std::size_t>> order(count);  // (id, record), by list
  std::vector<std::size_t> at(start.begin(), start.end() - 1);
  for (std::size_t r = 0; r < count; ++r) {
    std::int64_t id = 0;
    std::memcpy(&id, bytes.data() + r * rec, sizeof id);
    order[at[list_of(r)]++] = {id, r};
  }
  lists.resize(owned);
  for (std::size_t l = 0; l < owned; ++l) {
    const auto b = order.begin() + static_cast<std::ptrdiff_t>(start[l]);
    const auto e = order.begin() + static_cast<std::ptrdiff_t>(start[l + 1]);
    std::sort(b, e);
    ListRows& out = lists[l];
    const std::size_t n = start[l + 1] - start[l];
    out.tag_width = width;
    out.ids.resize(n);
    out.tags.resize(n * static_cast<std::size_t>(width));
    out.embedding.resize(n * static_cast<std::size_t>(dim));
    for (std::size_t i = 0; i < n; ++i) {
      const char* p = bytes.data() + (b + static_cast<std::ptrdiff_t>(i))->second * rec;
      out.ids[i] = (b + static_cast<std::ptrdiff_t>(i))->first;
      p += sizeof(std::int64_t) + sizeof(std::int32_t);
      std::memcpy(out.tags.data() + i * static_cast<std::size_t>(width), p,
                  sizeof(std::int32_t) * static_cast<std::size_t>(width));
      p += sizeof(std::int32_t) * static_cast<std::size_t>(width);
      std::memcpy(out.embedding.data() + i * static_cast<std::size_t>(dim), p,
                  sizeof(float) * static_cast<std::size_t>(dim));
    }
  }
}

// Packs one record per row of `parts` for the owner of the list `pick(part, row)` names,
// in rank order into `send`, and sends them (pm::alltoallv_packed): returns the records
// this rank received, at the start of `recv`. Both buffers only grow and are reused from
// wave to wave, so their pages are not faulted in (and zeroed) again for every wave.
template <class Pick>
std::span<const char> route_rows(const Comm& comm, const std::vector<const JoinRows*>& parts,
                                 const std::vector<std::vector<std::int32_t>>& probes, int probe,
                                 const std::vector<int>& owner, int width, int dim, Pick pick,
                                 std::vector<char>& send, std::vector<char>& recv) {
  const std::size_t rec = record_bytes(width, dim);
  std::vector<std::int64_t> bytes(static_cast<std::size_t>(comm.size()), 0);
  for (std::size_t pi = 0; pi < parts.size(); ++pi)
    for (std::size_t i = 0; i < parts[pi]->ids.size(); ++i) {
      const std::int32_t* pr = probes[pi].data() + i * static_cast<std::size_t>(probe);
      bytes[static_cast<std::size_t>(owner[static_cast<std::size_t>(pick(pr))])] += static_cast<std::int64_t>(rec);
    }
  std::vector<char*> at(bytes.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < bytes.size(); ++r) total += static_cast<std::size_t>(bytes[r]);
  if (send.size() < total) send.resize(total);
  total = 0;
  for (std::size_t r = 0; r < bytes.size(); ++r) {
    at[r] = send.data() + total;
    total += static_cast<std::size_t>(bytes[r]);
  }
  for (std::size_t pi = 0; pi < parts.size(); ++pi) {
    const JoinRows& part = *parts[pi];
    for (std::size_t i = 0; i < part.ids.size(); ++i) {
      const std::int32_t* pr = probes[pi].data() + i * static_cast<std::size_t>(probe);
      const std::int32_t list = pick(pr);
      char*& p = at[static_cast<std::size_t>(owner[static_cast<std::size_t>(list)])];
      p = pack(p, part.ids[i], list, pr, width, part.embedding.data() + i * static_cast<std::size_t>(dim), dim);
    }
  }
  const std::size_t got = alltoallv_packed(comm, std::span<const char>(send.data(), total), bytes, recv);
  return {recv.data(), got};
}

}  // namespace

std::vector<std::vector<std::int32_t>> probe_parts(const Quantizer& q, const std::vector<const JoinRows*>& parts,
                                                   int probe) {
  std::vector<std::vector<std::int32_t>> out;
  for (const JoinRows* part : parts) {
    const auto n = static_cast<std::int64_t>(part->ids.size());
    PM_CHECK(n == 0 || part->dim == q.dim, "IVF: rows and lists differ in dimension");
    out.push_back(probe_lists(q, part->embedding.data(), n, probe));
  }
  return out;
}

double list_imbalance(const Comm& comm, int lists, const std::vector<std::vector<std::int32_t>>& probes,
                      int probe) {
  std::vector<std::int64_t> stored(static_cast<std::size_t>(lists), 0);
  for (const auto& part : probes)
    for (std::size_t i = 0; i < part.size(); i += static_cast<std::size_t>(probe))
      ++stored[static_cast<std::size_t>(part[i])];
  comm.allreduce_sum(stored);
  const std::int64_t total = std::accumulate(stored.begin(), stored.end(), std::int64_t{0});
  if (total == 0) return 1.0;
  return static_cast<double>(*std::max_element(stored.begin(), stored.end())) * lists /
         static_cast<double>(total);
}

std::vector<ScoredPair> ivf_join(const Comm& comm, const Quantizer& q, const JoinRows& fresh,
                                 const JoinRows& older, const JoinConfig& config, int probe,
                                 IvfStats* stats, std::vector<std::vector<std::int32_t>> probes) {
  PM_CHECK(probe >= 1 && probe <= q.lists && probe <= 64,
           "IVF: --probe must be in 1..min(lists, 64)");
  const int dim = q.dim;
  const int p = comm.size();
  const std::vector<const JoinRows*> parts = {&older, &fresh};
  // Older rows have the smallest node ids: pairs of two of them are not joined again.
  std::int64_t older_end = older.ids.empty() ? 0 : older.ids.back() + 1;
  older_end = comm.allreduce_max(older_end);

  if (probes.empty()) probes = probe_parts(q, parts, probe);
  PM_ASSERT(probes.size() == parts.size(), "IVF: probes for every part expected");
  const auto lists = static_cast<std::size_t>(q.lists);
  std::vector<std::int64_t> counts(2 * lists, 0);  // stored per list, then probing per list
  double flops = 0;
  for (std::size_t pi = 0; pi < parts.size(); ++pi) {
    const auto n = static_cast<std::int64_t>(parts[pi]->ids.size());
    PM_ASSERT(probes[pi].size() == static_cast<std::size_t>(n * probe), "IVF: probes of another width");
    flops += 2.0 * static_cast<double>(n) * q.lists * dim;
    for (std::int64_t i = 0; i < n; ++i)
      for (int k = 0; k < probe; ++k)
        ++counts[(k == 0 ? 0 : lists) + static_cast<std::size_t>(probes[pi][static_cast<std::size_t>(i * probe + k)])];
  }
  comm.allreduce_sum(counts);
  const std::vector<std::int64_t> stored(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(lists));
  const std::vector<std::int64_t> probing(counts.begin() + static_cast<std::ptrdiff_t>(lists), counts.end());
  const std::vector<int> owner = assign_owners(stored, probing, p);
  std::vector<int> slot(lists, -1);
  std::size_t owned = 0;
  for (std::size_t l = 0; l < lists; ++l)
    if (owner[l] == comm.rank()) slot[l] = static_cast<int>(owned++);

  // Stored rows: each row once, to the owner of its home list, with its probes.
  std::vector<ListRows> home;
  std::vector<char> send, recv;
  unpack(route_rows(comm, parts, probes, probe, owner, probe, dim, [](const std::int32_t* pr) { return pr[0]; }, send, recv),
         slot, owned, probe, dim, home);
  std::int64_t records = 0;
  for (const ListRows& l : home) records += static_cast<std::int64_t>(l.ids.size());

  BlockJoiner joiner(dim, config.threshold, config.tile, config.precision);
  std::vector<ScoredPair> pairs;
  // Older rows have the smallest ids, so each list (sorted by id) is its older rows, then
  // its new ones: old x old is never multiplied, and a nightly run costs new x all.
  auto split = [&](const ListRows& l) {
    return static_cast<std::int64_t>(std::lower_bound(l.ids.begin(), l.ids.end(), older_end) - l.ids.begin());
  };
  auto rows_of = [&](const ListRows& l, std::int64_t b, std::int64_t e) {
    return BlockView{l.embedding.data() + b * dim, l.ids.data() + b, e - b, dim};
  };
  // Wave 0: a row's first probe is its home, so the probing rows of a list are its stored
  // rows: a self join of each list (new x new, old x new), every pair once.
  for (const ListRows& l : home) {
    const std::int64_t n = static_cast<std::int64_t>(l.ids.size()), s0 = split(l);
    joiner.join(rows_of(l, s0, n), rows_of(l, s0, n), /*same_block=*/true, pairs);
    joiner.join(rows_of(l, 0, s0), rows_of(l, s0, n), /*same_block=*/false, pairs);
  }
  // Waves 1..P-1: each row visits its k-th list (stored x visitors).
  std::vector<ListRows> visitors;
  for (int k = 1; k < probe; ++k) {
    // A visitor's record carries its home list (its first probe) as its one tag.
    unpack(route_rows(comm, parts, probes, probe, owner, 1, dim, [k](const std::int32_t* pr) { return pr[k]; }, send, recv),
           slot, owned, 1, dim, visitors);
    for (std::size_t li = 0; li < owned; ++li) {
      const ListRows& l = home[li];
      const ListRows& v = visitors[li];
      records += static_cast<std::int64_t>(v.ids.size());
      if (l.ids.empty() || v.ids.empty()) continue;
      const std::int64_t n = static_cast<std::int64_t>(l.ids.size()), s0 = split(l);
      const std::int64_t m = static_cast<std::int64_t>(v.ids.size()), v0 = split(v);
      // Stored row x (row lo + i of l) and visitor y (row vo + j of v): the pair is also
      // met at home(y) when home(y) is among x's probes; then only the meeting with the
      // smaller stored id keeps it. Decided before any score is recomputed.
      auto met_elsewhere = [&](std::int64_t lo, std::int64_t vo) {
        return [&l, &v, lo, vo, probe](std::int64_t i, std::int64_t j) {
          const std::int32_t* xp = l.tags.data() + (lo + i) * l.tag_width;
          const std::int32_t home_y = v.tags[static_cast<std::size_t>((vo + j) * v.tag_width)];
          const bool met_twice = std::find(xp, xp + probe, home_y) != xp + probe;
          return met_twice && l.ids[static_cast<std::size_t>(lo + i)] > v.ids[static_cast<std::size_t>(vo + j)];
        };
      };
      joiner.join(rows_of(l, s0, n), rows_of(v, 0, m), /*same_block=*/false, pairs,
                  met_elsewhere(s0, 0));  // new x all
      joiner.join(rows_of(l, 0, s0), rows_of(v, v0, m), /*same_block=*/false, pairs,
                  met_elsewhere(0, v0));  // old x new
    }
  }
  if (stats) {
    stats->flops = flops + joiner.flops();
    stats->records = records;
    stats->rechecked = joiner.rechecked();
    stats->list_sizes = stored;
    stats->fresh_home.clear();
    for (std::size_t i = 0; i < fresh.ids.size(); ++i)
      stats->fresh_home.push_back(probes[1][i * static_cast<std::size_t>(probe)]);
  }
  return pairs;
}

}  // namespace pm::dedup
