#include <algorithm>

#include "pixelmill/comm_values.h"
#include "pixelmill/point_to_point.h"
#include "union_find.h"

// Distributed components: local forests merged up a binary tree of ranks.
namespace pm::dedup {

std::vector<std::int64_t> components(const Comm& comm, const std::vector<Edge>& edges,
                                     std::int64_t first, std::int64_t count) {
  constexpr int kTagForest = 7101;
  const int p = comm.size();
  const int r = comm.rank();
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
  const std::vector<std::int64_t> firsts = comm.allgather(first);
  const std::vector<std::int64_t> counts = comm.allgather(count);
  std::vector<std::vector<Edge>> out(static_cast<std::size_t>(p));
  if (r == 0) {
    for (const auto& e : uf.compressed()) {
      // Ranges are in rank order: the owner is the last rank starting at or before the node.
      const auto q = static_cast<std::size_t>(
          std::upper_bound(firsts.begin(), firsts.end(), e.first) - firsts.begin() - 1);
      if (q < out.size() && e.first < firsts[q] + counts[q]) out[q].push_back(e);
    }
  }
  const std::vector<Edge> mine = alltoallv_values(comm, out);
  std::vector<std::int64_t> rep(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) rep[i] = first + i;
  for (const auto& [node, root] : mine) rep[node - first] = root;
  return rep;
}

}  // namespace pm::dedup
