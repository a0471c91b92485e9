// ivf_join: lists owned by ranks, stored rows routed once, probing rows one wave per probe
// slot, each wave sent in chunks of --block-rows rows (pm::alltoallv_packed) and
// assembled into its lists, each list joined on its owner with BlockJoiner.
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

// The rows of one wave on the owner of their lists, each list's rows contiguous and
// sorted by node id: list li is rows [start[li], start[li + 1]) of the flat arrays, with
// `tag_width` tags per row (stored rows: their probes; visitors: their home list). The
// arrays only grow and are reused from wave to wave, so their pages are faulted in once.
struct WaveRows {
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> tags;
  std::vector<float> embedding;
  int tag_width = 0;
};

// One list of a WaveRows.
struct ListView {
  const std::int64_t* ids = nullptr;
  const std::int32_t* tags = nullptr;
  const float* embedding = nullptr;
  std::int64_t rows = 0;
  int tag_width = 0;
};

ListView list_of(const WaveRows& w, std::size_t li, int dim) {
  const std::int64_t b = w.start[li];
  return {w.ids.data() + b, w.tags.data() + b * w.tag_width, w.embedding.data() + b * dim,
          w.start[li + 1] - b, w.tag_width};
}

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

// The rows of `parts` taken as one sequence (part 0's rows, then part 1's, ...), each with
// its [probe] lists.
struct LocalRows {
  const std::vector<const JoinRows*>& parts;
  const std::vector<std::vector<std::int32_t>>& probes;
  int probe;
  std::int64_t size() const {
    std::int64_t n = 0;
    for (const JoinRows* p : parts) n += static_cast<std::int64_t>(p->ids.size());
    return n;
  }
  // f(id, its probes, its embedding) for the rows [lo, hi) of the sequence.
  template <class F>
  void each(std::int64_t lo, std::int64_t hi, F f) const {
    std::int64_t base = 0;
    for (std::size_t pi = 0; pi < parts.size() && base < hi; ++pi) {
      const JoinRows& part = *parts[pi];
      const auto n = static_cast<std::int64_t>(part.ids.size());
      for (std::int64_t i = std::max(lo, base) - base; i < std::min(hi, base + n) - base; ++i)
        f(part.ids[static_cast<std::size_t>(i)], probes[pi].data() + i * probe, part.embedding.data() + i * part.dim);
      base += n;
    }
  }
};

// The rows stored in this rank's lists (a WaveRows whose tags are every row's probes),
// the source of the visiting waves once the rows are in their home lists.
struct StoredRows {
  const WaveRows& w;
  int dim;
  std::int64_t size() const { return w.start.back(); }
  template <class F>
  void each(std::int64_t lo, std::int64_t hi, F f) const {
    for (std::int64_t r = lo; r < std::min(hi, size()); ++r)
      f(w.ids[static_cast<std::size_t>(r)], w.tags.data() + r * w.tag_width, w.embedding.data() + r * dim);
  }
};

// Packs one record per row [lo, hi) of `rows` for the owner of the list `pick(probes)`
// names, in rank order into `send`, and sends them (pm::alltoallv_packed): returns the
// records this rank received, at the start of `recv`. Both buffers only grow and are
// reused from chunk to chunk.
template <class Rows, class Pick>
std::span<const char> route_rows(const Comm& comm, const Rows& rows, std::int64_t lo, std::int64_t hi,
                                 const std::vector<int>& owner, int width, int dim, Pick pick,
                                 std::vector<char>& send, std::vector<char>& recv) {
  const std::size_t rec = record_bytes(width, dim);
  std::vector<std::int64_t> bytes(static_cast<std::size_t>(comm.size()), 0);
  rows.each(lo, hi, [&](std::int64_t, const std::int32_t* pr, const float*) {
    bytes[static_cast<std::size_t>(owner[static_cast<std::size_t>(pick(pr))])] += static_cast<std::int64_t>(rec);
  });
  std::vector<char*> at(bytes.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < bytes.size(); ++r) total += static_cast<std::size_t>(bytes[r]);
  if (send.size() < total) send.resize(total);
  total = 0;
  for (std::size_t r = 0; r < bytes.size(); ++r) {
    at[r] = send.data() + total;
    total += static_cast<std::size_t>(bytes[r]);
  }
  rows.each(lo, hi, [&](std::int64_t id, const std::int32_t* pr, const float* row) {
    const std::int32_t list = pick(pr);
    char*& p = at[static_cast<std::size_t>(owner[static_cast<std::size_t>(list)])];
    p = pack(p, id, list, pr, width, row, dim);
  });
  const std::size_t got = alltoallv_packed(comm, std::span<const char>(send.data(), total), bytes, recv);
  return {recv.data(), got};
}

// Copies received records into their lists at `fill` (the next free row of each owned list).
void place(std::span<const char> bytes, const std::vector<int>& slot, int dim, WaveRows& w,
           std::vector<std::int64_t>& fill) {
  const int width = w.tag_width;
  const std::size_t rec = record_bytes(width, dim);
  PM_ASSERT(bytes.size() % rec == 0, "IVF: a record was cut in transit");
  for (std::size_t r = 0; r < bytes.size() / rec; ++r) {
    const char* p = bytes.data() + r * rec;
    std::int64_t id = 0;
    std::int32_t list = 0;
    std::memcpy(&id, p, sizeof id);
    std::memcpy(&list, p + sizeof id, sizeof list);
    PM_ASSERT(list >= 0 && static_cast<std::size_t>(list) < slot.size() && slot[static_cast<std::size_t>(list)] >= 0,
              "IVF: a row reached a rank that does not own its list");
    const auto li = static_cast<std::size_t>(slot[static_cast<std::size_t>(list)]);
    const std::int64_t at = fill[li]++;
    PM_ASSERT(at < w.start[li + 1], "IVF: a list received more rows than were counted for it");
    p += sizeof id + sizeof list;
    w.ids[static_cast<std::size_t>(at)] = id;
    std::memcpy(w.tags.data() + at * width, p, sizeof(std::int32_t) * static_cast<std::size_t>(width));
    p += sizeof(std::int32_t) * static_cast<std::size_t>(width);
    std::memcpy(w.embedding.data() + at * dim, p, sizeof(float) * static_cast<std::size_t>(dim));
  }
}

// Sorts each list's rows by id (they arrive by chunk, then by sending rank), through a
// scratch copy of one list at a time: the lists' contents, and so the tiles and scores of
// the join, do not depend on the rank count or the chunk size.
void sort_lists(WaveRows& w, int dim) {
  const int width = w.tag_width;
  std::vector<std::size_t> order;
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> tags;
  std::vector<float> emb;
  for (std::size_t li = 0; li + 1 < w.start.size(); ++li) {
    const std::int64_t b = w.start[li], n = w.start[li + 1] - b;
    const std::int64_t* id = w.ids.data() + b;
    if (std::is_sorted(id, id + n)) continue;
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [id](std::size_t x, std::size_t y) { return id[x] < id[y]; });
    ids.resize(static_cast<std::size_t>(n));
    tags.resize(static_cast<std::size_t>(n * width));
    emb.resize(static_cast<std::size_t>(n * dim));
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::int64_t from = b + static_cast<std::int64_t>(order[i]);
      ids[i] = w.ids[static_cast<std::size_t>(from)];
      std::memcpy(tags.data() + i * static_cast<std::size_t>(width), w.tags.data() + from * width,
                  sizeof(std::int32_t) * static_cast<std::size_t>(width));
      std::memcpy(emb.data() + i * static_cast<std::size_t>(dim), w.embedding.data() + from * dim,
                  sizeof(float) * static_cast<std::size_t>(dim));
    }
    std::copy(ids.begin(), ids.end(), w.ids.begin() + b);
    std::copy(tags.begin(), tags.end(), w.tags.begin() + b * width);
    std::copy(emb.begin(), emb.end(), w.embedding.begin() + b * dim);
  }
}

// One wave: every local row goes to the owner of the list `pick(probes)` names, in
// `chunks` exchanges of at most `chunk_rows` rows per rank (every rank takes part in all of
// them), and lands in `w` with `width` tags (the first `width` of its probes). `sizes`:
// the wave's rows per list, all ranks. Memory: the wave's rows here, plus one chunk sent
// and one received.
template <class Rows, class Pick>
void route_wave(const Comm& comm, const Rows& rows, std::int64_t chunks, std::int64_t chunk_rows,
                const std::vector<std::int64_t>& sizes, const std::vector<int>& owner,
                const std::vector<int>& slot, std::size_t owned, int width, int dim, Pick pick, WaveRows& w,
                std::vector<char>& send, std::vector<char>& recv) {
  w.tag_width = width;
  w.start.assign(owned + 1, 0);
  for (std::size_t l = 0; l < sizes.size(); ++l)
    if (slot[l] >= 0) w.start[static_cast<std::size_t>(slot[l]) + 1] = sizes[l];
  for (std::size_t li = 0; li < owned; ++li) w.start[li + 1] += w.start[li];
  const auto n = static_cast<std::size_t>(w.start[owned]);
  if (w.ids.size() < n) w.ids.resize(n);
  if (w.tags.size() < n * static_cast<std::size_t>(width)) w.tags.resize(n * static_cast<std::size_t>(width));
  if (w.embedding.size() < n * static_cast<std::size_t>(dim)) w.embedding.resize(n * static_cast<std::size_t>(dim));
  std::vector<std::int64_t> fill(w.start.begin(), w.start.end() - 1);
  for (std::int64_t c = 0; c < chunks; ++c)
    place(route_rows(comm, rows, c * chunk_rows, (c + 1) * chunk_rows, owner, width, dim, pick, send, recv),
          slot, dim, w, fill);
  for (std::size_t li = 0; li < owned; ++li)
    PM_ASSERT(fill[li] == w.start[li + 1], "IVF: a list received fewer rows than were counted for it");
  sort_lists(w, dim);
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

std::vector<ScoredPair> ivf_join(const Comm& comm, const Quantizer& q, JoinRows fresh,
                                 JoinRows older, const JoinConfig& config, int probe,
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

  // Every rank sends its rows in the same number of chunks of at most --block-rows rows,
  // so that a wave holds one chunk sent and one received beside the rows it assembles.
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, config.block_rows);
  auto chunks_for = [&](std::int64_t rows) {
    return std::max<std::int64_t>(1, comm.allreduce_max((rows + chunk_rows - 1) / chunk_rows));
  };
  std::vector<char> send, recv;

  // Stored rows: each row once, to the owner of its home list, with its probes.
  WaveRows home;
  {
    const LocalRows local{parts, probes, probe};
    route_wave(comm, local, chunks_for(local.size()), chunk_rows, stored, owner, slot, owned, probe, dim,
               [](const std::int32_t* pr) { return pr[0]; }, home, send, recv);
  }
  std::int64_t records = home.start[owned];
  if (stats) {
    stats->fresh_home.clear();
    for (std::size_t i = 0; i < fresh.ids.size(); ++i)
      stats->fresh_home.push_back(probes[1][i * static_cast<std::size_t>(probe)]);
  }
  // Every row is now in its home list, with its probes: the visiting waves are sent from
  // there, and the rows as they came (a share of the embeddings) are freed.
  for (JoinRows* part : {&older, &fresh}) {
    std::vector<float>().swap(part->embedding);
    std::vector<std::int64_t>().swap(part->ids);
  }
  std::vector<std::vector<std::int32_t>>().swap(probes);
  const StoredRows stored_here{home, dim};
  const std::int64_t visit_chunks = chunks_for(stored_here.size());

  BlockJoiner joiner(dim, config.threshold, config.tile, config.precision);
  std::vector<ScoredPair> pairs;
  // Older rows have the smallest ids, so each list (sorted by id) is its older rows, then
  // its new ones: old x old is never multiplied, and a nightly run costs new x all.
  auto split = [&](const ListView& l) {
    return static_cast<std::int64_t>(std::lower_bound(l.ids, l.ids + l.rows, older_end) - l.ids);
  };
  auto rows_of = [&](const ListView& l, std::int64_t b, std::int64_t e) {
    return BlockView{l.embedding + b * dim, l.ids + b, e - b, dim};
  };
  // Wave 0: a row's first probe is its home, so the probing rows of a list are its stored
  // rows: a self join of each list (new x new, old x new), every pair once.
  for (std::size_t li = 0; li < owned; ++li) {
    const ListView l = list_of(home, li, dim);
    const std::int64_t n = l.rows, s0 = split(l);
    joiner.join(rows_of(l, s0, n), rows_of(l, s0, n), /*same_block=*/true, pairs);
    joiner.join(rows_of(l, 0, s0), rows_of(l, s0, n), /*same_block=*/false, pairs);
  }
  // Waves 1..P-1: each row visits its k-th list (stored x visitors).
  WaveRows visitors;
  std::vector<std::int64_t> sizes(lists);
  for (int k = 1; k < probe; ++k) {
    std::fill(sizes.begin(), sizes.end(), 0);
    stored_here.each(0, stored_here.size(), [&](std::int64_t, const std::int32_t* pr, const float*) {
      ++sizes[static_cast<std::size_t>(pr[k])];
    });
    comm.allreduce_sum(sizes);
    // A visitor's record carries its home list (its first probe) as its one tag.
    route_wave(comm, stored_here, visit_chunks, chunk_rows, sizes, owner, slot, owned, 1, dim,
               [k](const std::int32_t* pr) { return pr[k]; }, visitors, send, recv);
    records += visitors.start[owned];
    for (std::size_t li = 0; li < owned; ++li) {
      const ListView l = list_of(home, li, dim);
      const ListView v = list_of(visitors, li, dim);
      if (l.rows == 0 || v.rows == 0) continue;
      const std::int64_t n = l.rows, s0 = split(l);
      const std::int64_t m = v.rows, v0 = split(v);
      // Stored row x (row lo + i of l) and visitor y (row vo + j of v): the pair is also
      // met at home(y) when home(y) is among x's probes; then only the meeting with the
      // smaller stored id keeps it. Decided before any score is recomputed.
      auto met_elsewhere = [&](std::int64_t lo, std::int64_t vo) {
        return [&l, &v, lo, vo, probe](std::int64_t i, std::int64_t j) {
          const std::int32_t* xp = l.tags + (lo + i) * l.tag_width;
          const std::int32_t home_y = v.tags[(vo + j) * v.tag_width];
          const bool met_twice = std::find(xp, xp + probe, home_y) != xp + probe;
          return met_twice && l.ids[lo + i] > v.ids[vo + j];
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
  }
  return pairs;
}

}  // namespace pm::dedup
