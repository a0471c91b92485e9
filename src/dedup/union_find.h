// Connected components with "smallest node id is the representative", so a component's
// id does not depend on the order of unions, the edge distribution or the rank count.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pixelmill/comm.h"

namespace pm::dedup {

using Edge = std::pair<std::int64_t, std::int64_t>;

// Sparse union-find over int64 node ids (nodes never united are not stored).
class UnionFind {
 public:
  std::int64_t find(std::int64_t x);
  void unite(std::int64_t a, std::int64_t b);
  // (node, representative) for every stored node that is not its own representative:
  // the whole forest, compressed to depth one.
  std::vector<Edge> compressed();
  std::size_t size() const { return parent_.size(); }

 private:
  std::unordered_map<std::int64_t, std::int64_t> parent_;
};

// Reference: representative of each node in [first, first + count) given all edges.
std::vector<std::int64_t> components_reference(const std::vector<Edge>& edges,
                                               std::int64_t first, std::int64_t count);

// Nodes [first, first + count).
struct NodeRange {
  std::int64_t first = 0;
  std::int64_t count = 0;
};

// Collective. Each rank passes its share of the edges (any distribution) and the node
// ranges it owns (every rank the same number of ranges; all ranges of all ranks
// disjoint); returns the representative of each owned node, one vector per range. The
// forests are merged up a binary tree of ranks (each message is a compressed forest, at
// most one edge per node in a non-trivial component), then rank 0 sends every rank the
// labels of its ranges.
std::vector<std::vector<std::int64_t>> components(const Comm& comm, const std::vector<Edge>& edges,
                                                  const std::vector<NodeRange>& owned);
// The same for one range per rank.
std::vector<std::int64_t> components(const Comm& comm, const std::vector<Edge>& edges,
                                     std::int64_t first, std::int64_t count);

}  // namespace pm::dedup
