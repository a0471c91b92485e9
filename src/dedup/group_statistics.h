// Private to pm_dedup: the summary's group figures from each rank's block of group ids.
#pragma once

#include <cstdint>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/dedup.h"

namespace pm::dedup {

// Fills s.groups, s.rows_in_groups, s.largest_group(_id) from `group` (the ids of rows
// first_row.. of this rank; ids below s.rows are rows of the input). Collective.
void group_statistics(const Comm& comm, const std::vector<std::int64_t>& group, std::int64_t first_row,
                      DedupSummary& s);

}  // namespace pm::dedup
