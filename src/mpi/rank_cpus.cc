// pm::rank_cpus: the affinity masks of a node's ranks, compared.
#include "pixelmill/rank_cpus.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "pixelmill/cpu_set.h"

namespace pm {

RankCpus rank_cpus(const Comm& comm) {
  const Comm node = comm.node();
  const std::vector<int> mine = allowed_cpus();
  std::string bytes(mine.size() * sizeof(int), '\0');
  std::memcpy(bytes.data(), mine.data(), bytes.size());
  std::vector<std::vector<int>> node_sets;
  for (const std::string& part : node.allgatherv(bytes)) {
    std::vector<int> set(part.size() / sizeof(int));
    if (!set.empty()) std::memcpy(set.data(), part.data(), set.size() * sizeof(int));
    node_sets.push_back(std::move(set));
  }
  RankCpus out;
  out.allowed = static_cast<int>(mine.size());
  out.node_ranks = node.size();
  out.sharers = cpu_sharers(mine, node_sets);
  out.share = cpu_share(mine, node_sets);
  return out;
}

}  // namespace pm
