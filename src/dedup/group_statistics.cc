// Statistics of the near-duplicate groups for the dedup summaries.
#include "group_statistics.h"

#include <cstring>
#include <map>
#include <string>

namespace pm::dedup {

void group_statistics(const Comm& comm, const std::vector<std::int64_t>& group,
                      std::int64_t first_row, DedupSummary& s) {
  // Members that are not their group's id, counted per group; merged on every rank.
  std::map<std::int64_t, std::int64_t> members;
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i] != first_row + static_cast<std::int64_t>(i)) ++members[group[i]];
  std::string packed;
  for (const auto& [g, n] : members) {
    const std::int64_t rec[2] = {g, n};
    packed.append(reinterpret_cast<const char*>(rec), sizeof rec);
  }
  std::map<std::int64_t, std::int64_t> all;
  for (const std::string& part : comm.allgatherv(packed)) {
    for (std::size_t off = 0; off + 16 <= part.size(); off += 16) {
      std::int64_t rec[2];
      std::memcpy(rec, part.data() + off, sizeof rec);
      all[rec[0]] += rec[1];
    }
  }
  s.groups = static_cast<std::int64_t>(all.size());
  for (const auto& [g, n] : all) {
    // A group id below N is itself a row of the input, counted once more.
    const std::int64_t size = n + (g < s.rows ? 1 : 0);
    s.rows_in_groups += size;
    if (size > s.largest_group) {
      s.largest_group = size;
      s.largest_group_id = g;
    }
  }
}

}  // namespace pm::dedup
