// Reads one key range of a table as records, resuming after failures: every row is emitted
// exactly once, in key order, even when the Thrift server restarts mid-scan.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "key_range.h"
#include "pixelmill/hbase.h"
#include "pixelmill/record.h"
#include "rate_limiter.h"

namespace pm::hbase {

struct TransportCounters;  // retry.h

struct ScanStats {
  std::int64_t rows = 0;
  std::int64_t bytes = 0;     // value bytes received
  std::int64_t calls = 0;     // Thrift calls that returned rows (or the end)
  std::int64_t retries = 0;   // failures recovered from
  std::int64_t reopens = 0;   // scanners (re)opened
};

// What the scans of one source share (each may be null): the rate limit, the retry and
// reconnect counters, and the largest row seen so far, so that a split's first call is
// sized from the rows of earlier splits instead of learning their size again.
struct ScanShared {
  RateLimiter* limiter = nullptr;
  TransportCounters* counters = nullptr;
  std::atomic<std::int64_t>* largest_row = nullptr;
};

// Scans [range.start, range.stop) of options.url.table; for each row calls emit with a
// Record (status kMissing / kEmpty / kTooLarge when the column is absent / empty / over
// max_cell_bytes). Stops early when emit returns false. Throws pm::Error when the retry
// budget is spent or the failure is not transient. Opens its own connection.
ScanStats scan_range(const HBaseSourceOptions& options, const KeyRange& range,
                     const std::function<bool(Record&&)>& emit, const ScanShared& shared = {});

}  // namespace pm::hbase
