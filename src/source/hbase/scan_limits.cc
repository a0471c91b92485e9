#include "scan_limits.h"

#include <algorithm>
#include <limits>

namespace pm::hbase {

void set_scan_limits(HBaseSourceOptions& o) {
  const std::int64_t string_limit = std::clamp<std::int64_t>(
      o.max_cell_bytes, kMinStringLimit, std::numeric_limits<std::int32_t>::max());
  const std::int64_t message = std::max(o.bytes_per_call, 2 * string_limit) + kResponseOverhead;
  o.client.max_string_bytes = static_cast<std::int32_t>(string_limit);
  o.client.max_message_bytes = message;
  o.client.max_frame_bytes = message;
}

int first_call_rows(const HBaseClientOptions& c, int cap) {
  const std::int64_t per_row = 2 * static_cast<std::int64_t>(c.max_string_bytes) + 1;
  return static_cast<int>(std::clamp<std::int64_t>(c.max_message_bytes / per_row, 1, cap));
}

}  // namespace pm::hbase
