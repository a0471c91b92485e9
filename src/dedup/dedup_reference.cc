#include <algorithm>

#include "dedup_core.h"
#include "exact_groups.h"
#include "node_ids.h"

namespace pm::dedup {

NodeResult dedup_nodes_reference(const NodeBlock& all, std::int64_t fresh_first,
                                 float threshold) {
  NodeResult res;
  const std::vector<std::int64_t> nodes = node_ids(all);
  const std::vector<std::int64_t> exact = exact_groups_reference(all.hash, nodes);
  const std::int64_t skip = fresh_first - all.first_node;
  res.exact_group.assign(exact.begin() + skip, exact.end());

  const JoinRows rows = join_rows(all);
  const BlockView v = rows.view();
  for (std::int64_t i = 0; i < v.rows; ++i) {
    for (std::int64_t j = i + 1; j < v.rows; ++j) {
      if (v.ids[j] < fresh_first) continue;  // older x older is not joined
      const double s = exact_dot(v.data + i * v.dim, v.data + j * v.dim, v.dim);
      if (s >= static_cast<double>(threshold))
        res.pairs.push_back({v.ids[i], v.ids[j], static_cast<float>(s)});
    }
    if (v.ids[i] >= fresh_first) ++res.joined_rows;
  }
  sort_pairs(res.pairs);

  std::vector<Edge> edges;
  for (const auto& pr : res.pairs) edges.emplace_back(pr.a, pr.b);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (exact[i] != nodes[i]) edges.emplace_back(nodes[i], exact[i]);
  edges.insert(edges.end(), all.prior_edges.begin(), all.prior_edges.end());
  res.group = components_reference(edges, fresh_first, all.rows() - skip);
  const auto before = components_reference(all.prior_edges, all.first_node, skip);
  const auto after = components_reference(edges, all.first_node, skip);
  for (std::int64_t i = 0; i < skip; ++i)
    if (after[i] != before[i]) res.regrouped.emplace_back(all.first_node + i, after[i]);
  return res;
}

}  // namespace pm::dedup
