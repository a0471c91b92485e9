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
};

}  // namespace pm
