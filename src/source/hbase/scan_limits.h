// What one response of a scan may make the client allocate, from the largest image cell
// the scan must deliver (HBaseSourceOptions::max_cell_bytes) and the size it aims each
// call at (bytes_per_call).
#pragma once

#include "pixelmill/hbase.h"

namespace pm::hbase {

// Below this the string limit would refuse row keys (HBase allows 32 KiB) or long error
// messages before any image cell: cells under it but over max_cell_bytes arrive and are
// marked kTooLarge by the reader instead.
inline constexpr std::int64_t kMinStringLimit = 1 << 20;
// Slack for everything in a response besides the cell values (keys, names, framing).
inline constexpr std::int64_t kResponseOverhead = 1 << 20;

// Sets o.client's string, message and frame limits. A response holds at most two values of
// one row (the image cell and, with report_missing, the row's first cell), so one row
// always fits; calls for more rows are sized to bytes_per_call.
void set_scan_limits(HBaseSourceOptions& o);

// Rows to ask for before any row size is known: as many as fit the response limit if
// every one had the largest allowed cells, at most `cap` and at least 1.
int first_call_rows(const HBaseClientOptions& c, int cap);

}  // namespace pm::hbase
