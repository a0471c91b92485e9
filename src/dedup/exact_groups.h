// Exact duplicates: nodes whose raw bytes have the same SHA-256. The group id of a node is
// the smallest node id with the same hash. A zero hash means "bytes unreadable" (see
// image_result.h): such a node is its own group, never grouped with other unreadable ones.
#pragma once

#include <cstdint>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/image_result.h"

namespace pm::dedup {

bool is_zero(const ContentHash& h);

// Reference: `hashes[i]` belongs to node `nodes[i]`; all nodes on one process.
std::vector<std::int64_t> exact_groups_reference(const std::vector<ContentHash>& hashes,
                                                 const std::vector<std::int64_t>& nodes);

// Collective. Each rank passes some nodes (distinct over all ranks) and their hashes;
// returns the group id of each. Hashes are routed to an owner rank chosen by the hash
// itself (all-to-all), the owner takes the smallest node per hash and answers the rank
// that sent each node; memory per rank is its share of the hashes.
std::vector<std::int64_t> exact_groups(const Comm& comm, const std::vector<ContentHash>& hashes,
                                       const std::vector<std::int64_t>& nodes);

}  // namespace pm::dedup
