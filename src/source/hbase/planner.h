// Splits for a table scan: one per region (replica 0) like TableInputFormat, clipped to
// the requested row range, each cut into a few key ranges so that ranks and scanners
// balance even on a table with few regions.
#pragma once

#include <vector>

#include "key_range.h"
#include "pixelmill/hbase.h"
#include "pixelmill/source.h"

namespace pm::hbase {

struct TransportCounters;  // retry.h

struct RegionRange {
  KeyRange range;
  std::string server;  // host:port of the region server (for the log)
};

// Region boundaries from getAllRegionLocations, replica 0, sorted by start key.
// `counters` (may be null) counts the retries and reconnects of its calls.
std::vector<RegionRange> region_ranges(const HBaseSourceOptions& options,
                                       TransportCounters* counters = nullptr);

// The plan: checks the table and the column family first (pm::Error when missing).
std::vector<SplitSpec> plan_splits(const HBaseSourceOptions& options,
                                   TransportCounters* counters = nullptr);

}  // namespace pm::hbase
