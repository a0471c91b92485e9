#include <algorithm>
#include <cstdint>
#include <cstring>

#include "exact_groups.h"
#include "pixelmill/comm_values.h"

namespace pm::dedup {

namespace {

struct HashedNode {
  ContentHash hash;
  std::int32_t from;  // rank that asked
  std::int32_t index; // position in that rank's input
  std::int64_t node;
};

struct Answer {
  std::int64_t index;
  std::int64_t group;
};

int owner_of_hash(const ContentHash& h, int ranks) {
  std::uint64_t v = 0;
  std::memcpy(&v, h.data(), sizeof v);  // SHA-256 bytes are uniform: any 8 of them will do
  return static_cast<int>(v % static_cast<std::uint64_t>(ranks));
}

// A position in this rank's input, as the int32 the record carries.
std::int32_t position(std::size_t i) {
  PM_CHECK(i <= static_cast<std::size_t>(INT32_MAX), "exact groups: over 2^31 rows on one rank");
  return static_cast<std::int32_t>(i);
}

}  // namespace

std::vector<std::int64_t> exact_groups(const Comm& comm, const std::vector<ContentHash>& hashes,
                                       const std::vector<std::int64_t>& nodes) {
  PM_ASSERT(hashes.size() == nodes.size(), "exact_groups: one hash per node");
  const int p = comm.size();
  std::vector<std::vector<HashedNode>> out(static_cast<std::size_t>(p));
  std::vector<std::int64_t> group(nodes);
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (is_zero(hashes[i])) continue;
    out[owner_of_hash(hashes[i], p)].push_back(
        {hashes[i], comm.rank(), position(i), nodes[i]});
  }
  std::vector<HashedNode> mine = alltoallv_values(comm, out);
  std::sort(mine.begin(), mine.end(), [](const HashedNode& a, const HashedNode& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.node < b.node;
  });

  // Only nodes that are not their group's smallest get an answer.
  std::vector<std::vector<Answer>> back(static_cast<std::size_t>(p));
  for (std::size_t i = 0; i < mine.size();) {
    std::size_t j = i;
    while (j < mine.size() && mine[j].hash == mine[i].hash) ++j;
    for (std::size_t k = i + 1; k < j; ++k)
      back[static_cast<std::size_t>(mine[k].from)].push_back({mine[k].index, mine[i].node});
    i = j;
  }
  for (const Answer& a : alltoallv_values(comm, back))
    group[static_cast<std::size_t>(a.index)] = a.group;
  return group;
}

}  // namespace pm::dedup
