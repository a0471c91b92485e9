#include "union_find.h"

#include <algorithm>
#include <utility>


namespace pm::dedup {

std::int64_t UnionFind::find(std::int64_t x) {
  std::int64_t root = x;
  while (true) {
    const auto it = parent_.find(root);
    if (it == parent_.end() || it->second == root) break;
    root = it->second;
  }
  // Full path compression: later finds on this path are one step.
  while (x != root) {
    const auto it = parent_.find(x);
    x = std::exchange(it->second, root);
  }
  return root;
}

void UnionFind::unite(std::int64_t a, std::int64_t b) {
  a = find(a);
  b = find(b);
  if (a == b) return;
  if (b < a) std::swap(a, b);
  // The smaller root wins: the representative is the component's smallest id.
  parent_[b] = a;
  parent_.try_emplace(a, a);
}

std::vector<Edge> UnionFind::compressed() {
  std::vector<std::int64_t> nodes;
  nodes.reserve(parent_.size());
  for (const auto& [node, parent] : parent_) nodes.push_back(node);
  std::vector<Edge> out;
  for (std::int64_t node : nodes) {
    const std::int64_t root = find(node);
    if (root != node) out.emplace_back(node, root);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::int64_t> components_reference(const std::vector<Edge>& edges,
                                               std::int64_t first, std::int64_t count) {
  UnionFind uf;
  for (const auto& [a, b] : edges) uf.unite(a, b);
  std::vector<std::int64_t> rep(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) rep[i] = uf.find(first + i);
  return rep;
}

}  // namespace pm::dedup
