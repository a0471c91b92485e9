#include "exact_groups.h"

#include <algorithm>
#include <map>


namespace pm::dedup {


bool is_zero(const ContentHash& h) {
  return std::all_of(h.begin(), h.end(), [](std::uint8_t b) { return b == 0; });
}

std::vector<std::int64_t> exact_groups_reference(const std::vector<ContentHash>& hashes,
                                                 const std::vector<std::int64_t>& nodes) {
  std::map<ContentHash, std::int64_t> smallest;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (is_zero(hashes[i])) continue;
    auto [it, fresh] = smallest.try_emplace(hashes[i], nodes[i]);
    if (!fresh) it->second = std::min(it->second, nodes[i]);
  }
  std::vector<std::int64_t> group(hashes.size());
  for (std::size_t i = 0; i < hashes.size(); ++i)
    group[i] = is_zero(hashes[i]) ? nodes[i] : smallest.at(hashes[i]);
  return group;
}

}  // namespace pm::dedup
