#include <algorithm>

#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"
#include "pixelmill/point_to_point.h"
#include "union_find.h"

// Distributed components: local forests merged up a binary tree of ranks.
namespace pm::dedup {

namespace {

// One owned range of one rank, as rank 0 sees them all.
struct Owner {
  std::int64_t first = 0;
  std::int64_t count = 0;
  std::size_t rank = 0;
};

}  // namespace

std::vector<std::vector<std::int64_t>> components(const Comm& comm, const std::vector<Edge>& edges,
                                                  const std::vector<NodeRange>& owned) {
  constexpr int kTagForest = 7101;
  const int p = comm.size();
  const int r = comm.rank();
  PM_ASSERT(comm.allreduce_max(static_cast<std::int64_t>(owned.size())) ==
                static_cast<std::int64_t>(owned.size()),
            "components: ranks pass different numbers of node ranges");
  UnionFind uf;
  for (const auto& [a, b] : edges) uf.unite(a, b);

  // Binary-tree reduction: at distance d, ranks r % 2d == d send their forest to r - d.
  for (int d = 1; d < p; d *= 2) {
    if (r % (2 * d) == d) {
      send_values(comm, uf.compressed(), r - d, kTagForest);
      uf = UnionFind();
      break;
    }
    if (r % (2 * d) == 0 && r + d < p) {
      for (const auto& [a, b] : recv_values<Edge>(comm, r + d, kTagForest)) uf.unite(a, b);
    }
  }

  // Rank 0 holds the whole forest; each rank gets (node, rep) for the nodes it owns.
  std::vector<Owner> owners;
  for (const NodeRange& range : owned) {
    const std::vector<std::int64_t> firsts = comm.allgather(range.first);
    const std::vector<std::int64_t> counts = comm.allgather(range.count);
    for (std::size_t q = 0; q < firsts.size(); ++q)
      if (counts[q] > 0) owners.push_back({firsts[q], counts[q], q});
  }
  std::sort(owners.begin(), owners.end(),
            [](const Owner& a, const Owner& b) { return a.first < b.first; });
  std::vector<std::vector<Edge>> out(static_cast<std::size_t>(p));
  if (r == 0) {
    for (const auto& e : uf.compressed()) {
      // The owner is the last range starting at or before the node, if it reaches it.
      const auto it = std::upper_bound(owners.begin(), owners.end(), e.first,
                                       [](std::int64_t node, const Owner& o) { return node < o.first; });
      if (it == owners.begin()) continue;
      const Owner& o = *(it - 1);
      if (e.first < o.first + o.count) out[o.rank].push_back(e);
    }
  }
  const std::vector<Edge> mine = alltoallv_values(comm, out);
  std::vector<std::vector<std::int64_t>> rep(owned.size());
  for (std::size_t k = 0; k < owned.size(); ++k) {
    rep[k].resize(static_cast<std::size_t>(owned[k].count));
    for (std::int64_t i = 0; i < owned[k].count; ++i) rep[k][i] = owned[k].first + i;
  }
  for (const auto& [node, root] : mine) {
    bool placed = false;
    for (std::size_t k = 0; k < owned.size() && !placed; ++k)
      if (node >= owned[k].first && node < owned[k].first + owned[k].count) {
        rep[k][static_cast<std::size_t>(node - owned[k].first)] = root;
        placed = true;
      }
    PM_ASSERT(placed, "components: node " + std::to_string(node) + " sent to the wrong rank");
  }
  return rep;
}

std::vector<std::int64_t> components(const Comm& comm, const std::vector<Edge>& edges,
                                     std::int64_t first, std::int64_t count) {
  return std::move(components(comm, edges, {NodeRange{first, count}})[0]);
}

}  // namespace pm::dedup
