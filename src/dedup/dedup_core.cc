#include "dedup_core.h"

#include <algorithm>

#include "exact_groups.h"
#include "node_ids.h"

namespace pm::dedup {

NodeResult dedup_nodes(const Comm& comm, NodeBlock fresh, NodeBlock older,
                       const JoinConfig& config) {
  NodeResult res;

  // Exact groups over old and new rows together: one all-to-all of the hashes.
  std::vector<ContentHash> hashes = older.hash;
  hashes.insert(hashes.end(), fresh.hash.begin(), fresh.hash.end());
  std::vector<std::int64_t> nodes = node_ids(older);
  const std::vector<std::int64_t> fresh_nodes = node_ids(fresh);
  nodes.insert(nodes.end(), fresh_nodes.begin(), fresh_nodes.end());
  const std::vector<std::int64_t> exact = exact_groups(comm, hashes, nodes);
  res.exact_group.assign(exact.begin() + older.rows(), exact.end());

  // Near pairs: new x new (self join) and new x old (cross join); old x old was the
  // older runs' work and is not repeated.
  const JoinRows home = take_join_rows(fresh);
  res.joined_rows = static_cast<std::int64_t>(home.ids.size());
  res.pairs = ring_self_join(comm, home, config, &res.join);
  const bool any_older = comm.allreduce_sum(older.rows()) > 0;
  if (any_older) {
    const JoinRows visitors = take_join_rows(older);
    const auto cross = ring_cross_join(comm, home, visitors, config, &res.join);
    res.pairs.insert(res.pairs.end(), cross.begin(), cross.end());
  }
  sort_pairs(res.pairs);

  std::vector<Edge> edges;
  edges.reserve(res.pairs.size() + older.prior_edges.size());
  for (const auto& pr : res.pairs) edges.emplace_back(pr.a, pr.b);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (exact[i] != nodes[i]) edges.emplace_back(nodes[i], exact[i]);
  edges.insert(edges.end(), older.prior_edges.begin(), older.prior_edges.end());
  edges.insert(edges.end(), fresh.prior_edges.begin(), fresh.prior_edges.end());
  res.group = components(comm, edges, fresh.first_node, fresh.rows());
  return res;
}

}  // namespace pm::dedup
