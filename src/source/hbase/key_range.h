// Row-key arithmetic for planning and resuming scans. Keys are binary strings ordered as
// unsigned bytes (std::string's ordering); "" as a start means "from the first row" and
// as a stop "to the last row".
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pm::hbase {

// The smallest key strictly greater than `key`: key + 0x00. Where a broken scan resumes.
inline std::string next_row(const std::string& key) { return key + std::string(1, '\0'); }

struct KeyRange {
  std::string start;  // inclusive; "" = unbounded
  std::string stop;   // exclusive; "" = unbounded
};

// [region) ∩ [range), like TableInputFormat: nullopt when they do not overlap.
std::optional<KeyRange> clip(const KeyRange& region, const KeyRange& range);

// Up to n-1 keys strictly between lo and hi (lo < hi), increasing, spread evenly over the
// byte strings between them (interpolating the first 8 bytes after their common prefix).
// Fewer when the keys are too close to cut.
std::vector<std::string> cut_points(const std::string& lo, const std::string& hi, int n);

// Printable form for messages: printable ASCII as is, other bytes as \xHH, long keys cut.
std::string printable_key(const std::string& key, std::size_t max_len = 64);

}  // namespace pm::hbase
