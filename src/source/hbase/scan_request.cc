#include "scan_request.h"

#include <limits>

namespace pm::hbase {

namespace {

// Quotes a byte string for the HBase filter language ('...' with ' doubled).
std::string filter_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else out.push_back(c);
  }
  return out + "'";
}

}  // namespace

gen::TScan base_scan(const HBaseSourceOptions& o) {
  gen::TScan scan;
  const bool timed = o.since_ms >= 0 || o.until_ms >= 0;
  gen::TColumn col;
  col.family = o.column.family;
  if (o.report_missing && !timed) {
    // The whole family, filtered down to our column plus the first cell of each row:
    // a row that lacks the column still shows up (as its first cell) and becomes kMissing.
    scan.__set_columns({col});
    scan.__set_filterString("QualifierFilter(=, " + filter_quote("binary:" + o.column.qualifier) +
                            ") OR FirstKeyOnlyFilter()");
  } else {
    col.__set_qualifier(o.column.qualifier);
    scan.__set_columns({col});
  }
  if (timed) {
    gen::TTimeRange tr;
    tr.minStamp = o.since_ms >= 0 ? o.since_ms : 0;
    tr.maxStamp = o.until_ms >= 0 ? o.until_ms : std::numeric_limits<std::int64_t>::max();
    scan.__set_timeRange(tr);
  }
  scan.__set_maxVersions(1);
  scan.__set_cacheBlocks(false);  // a one-pass scan must not evict the region servers' cache
  return scan;
}

std::string too_large_message(const HBaseSourceOptions& o, std::int64_t bytes) {
  return "cell " + o.column.str() + " is " + std::to_string(bytes) + " bytes, over the limit of " +
         std::to_string(o.max_cell_bytes) + " (--max-bytes)";
}

Record to_record(const HBaseSourceOptions& o, gen::TResult& r) {
  Record rec;
  rec.key = std::move(r.row);
  for (auto& cv : r.columnValues) {
    if (cv.family == o.column.family && cv.qualifier == o.column.qualifier) {
      rec.timestamp = cv.__isset.timestamp ? cv.timestamp : 0;
      const auto size = static_cast<std::int64_t>(cv.value.size());
      if (size > o.max_cell_bytes) {
        // Like a file over --max-bytes: the record, without the bytes.
        rec.status = Status::error(StatusCode::kTooLarge, too_large_message(o, size));
        return rec;
      }
      if (cv.value.empty())
        rec.status = Status::error(StatusCode::kEmpty, "empty cell " + o.column.str());
      rec.bytes = std::move(cv.value);
      return rec;
    }
  }
  rec.status = Status::error(StatusCode::kMissing, "no cell " + o.column.str());
  return rec;
}

std::int64_t row_bytes(const gen::TResult& r) {
  std::int64_t n = static_cast<std::int64_t>(r.row.size());
  for (const auto& cv : r.columnValues)
    n += static_cast<std::int64_t>(cv.value.size() + cv.qualifier.size() + cv.family.size());
  return n;
}

}  // namespace pm::hbase
