// Per-row duplicate results for one rank's share of a run's rows, in the form the rows'
// own store wants them (row keys, not file-local row ids): what the HBase write-back of
// `dedup` writes next to each row. Plain data; filled by pm::read_dedup_rows (dedup.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

struct DedupRows {
  std::int64_t first_row = 0;   // file row index of entry 0 (a contiguous share)
  std::int64_t total_rows = 0;  // rows of the whole file
  double threshold = 0;         // the cosine threshold the groups were found with
  // One entry per row, all vectors the same length:
  std::vector<std::string> key;              // /images/key of the row
  std::vector<std::int64_t> group;           // /dedup/group (a row id, see dedup.h)
  std::vector<std::int64_t> exact_group;     // /dedup/exact_group
  std::vector<std::string> group_key;        // key of row `group` (an older file's key for ids >= N)
  std::vector<std::string> exact_group_key;  // key of row `exact_group`
  std::vector<std::int64_t> pairs;           // /dedup/pairs the row is in (near-duplicates)
  std::vector<float> best_score;             // highest of their scores; meaningless when pairs == 0

  std::size_t size() const { return key.size(); }

  // Rows of the older (--against) files whose group this run changed (/dedup/regrouped,
  // this rank's share of its records): new rows bridged their old group to an older one.
  // Only their group cell is rewritten; the other cells stay as their own night wrote them.
  std::vector<std::string> regrouped_key;        // key of the older row
  std::vector<std::int64_t> regrouped_group;     // its new group (a row id >= N)
  std::vector<std::string> regrouped_group_key;  // key of that row
};

}  // namespace pm
