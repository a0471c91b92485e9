#include "planner.h"

#include <algorithm>

#include "admin.h"
#include "retry.h"
#include "url_options.h"

namespace pm::hbase {

std::vector<RegionRange> region_ranges(const HBaseSourceOptions& o, TransportCounters* counters) {
  Session s(o.url, o.client, counters);
  std::vector<gen::THRegionLocation> locs;
  with_retries(s, o.retry, "getAllRegionLocations",
               [&](auto& c) { c.getAllRegionLocations(locs, o.url.table); });
  std::vector<RegionRange> out;
  for (const auto& l : locs) {
    const auto& ri = l.regionInfo;
    // Read replicas cover the same keys as their primary: keep the primary only.
    if (ri.__isset.replicaId && ri.replicaId != 0) continue;
    RegionRange r;
    r.range.start = ri.startKey;
    r.range.stop = ri.endKey;
    r.server = l.serverName.hostName + ":" + std::to_string(l.serverName.port);
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const RegionRange& a, const RegionRange& b) { return a.range.start < b.range.start; });
  return out;
}

namespace {

// First and last row keys inside `r` (nullopt when the range holds no row), fetched
// key-only so that no image bytes travel.
std::optional<std::pair<std::string, std::string>> row_bounds(Session& s,
                                                              const HBaseSourceOptions& o,
                                                              const KeyRange& r) {
  gen::TScan scan;
  if (!r.start.empty()) scan.__set_startRow(r.start);
  if (!r.stop.empty()) scan.__set_stopRow(r.stop);
  scan.__set_filterString("FirstKeyOnlyFilter() AND KeyOnlyFilter()");
  scan.__set_cacheBlocks(false);
  scan.__set_limit(1);
  scan.__set_caching(1);
  std::vector<gen::TResult> first;
  with_retries(s, o.retry, "getScannerResults",
               [&](auto& c) { c.getScannerResults(first, o.url.table, scan, 1); });
  if (first.empty()) return std::nullopt;
  // Reversed: starts at the stop key (inclusive in a reversed scan) going down to start.
  gen::TScan rev = scan;
  rev.__isset.startRow = rev.__isset.stopRow = false;
  if (!r.stop.empty()) rev.__set_startRow(r.stop);
  if (!r.start.empty()) rev.__set_stopRow(r.start);
  rev.__set_reversed(true);
  rev.__set_limit(2);
  rev.__set_caching(2);
  std::vector<gen::TResult> last;
  with_retries(s, o.retry, "getScannerResults",
               [&](auto& c) { c.getScannerResults(last, o.url.table, rev, 2); });
  std::string hi = first.front().row;
  for (const auto& row : last) {
    if (!r.stop.empty() && row.row >= r.stop) continue;  // the inclusive stop row itself
    hi = std::max(hi, row.row);
    break;
  }
  return std::make_pair(first.front().row, hi);
}

}  // namespace

std::vector<SplitSpec> plan_splits(const HBaseSourceOptions& o, TransportCounters* counters) {
  {
    Session s(o.url, o.client, counters);
    check_table(s, o.retry, o.url.table, o.column.family);
  }
  const KeyRange wanted{o.start_row, o.stop_row};
  if (!wanted.stop.empty() && wanted.start >= wanted.stop)
    throw Error("--start-row must be below --stop-row");
  std::vector<KeyRange> regions;
  for (const auto& r : region_ranges(o, counters))
    if (auto c = clip(r.range, wanted)) regions.push_back(*c);
  if (regions.empty()) throw Error("no region of " + o.url.str() + " overlaps the row range");

  int parts = std::max(1, o.splits_per_region);
  const int nregions = static_cast<int>(regions.size());
  if (o.min_splits > parts * nregions) parts = (o.min_splits + nregions - 1) / nregions;
  // Many ranks on a table of one region would ask for thousands of cuts of it.
  parts = std::min(parts, kMaxSplitsPerRegion);

  std::vector<SplitSpec> plan;
  Session s(o.url, o.client, counters);
  for (const auto& r : regions) {
    std::vector<std::string> cuts;
    if (parts > 1) {
      if (const auto b = row_bounds(s, o, r)) cuts = cut_points(b->first, b->second, parts);
    }
    std::string start = r.start;
    for (auto& cut : cuts) {
      SplitSpec sp;
      sp.start = start;
      sp.stop = cut;
      start = cut;
      plan.push_back(std::move(sp));
    }
    SplitSpec last;
    last.start = start;
    last.stop = r.stop;
    plan.push_back(std::move(last));
  }
  for (std::size_t i = 0; i < plan.size(); ++i) plan[i].index = i;
  return plan;
}

}  // namespace pm::hbase
