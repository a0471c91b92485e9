// The scan loop. Two designs (HBASE.md 4.3), one resume rule: after each row handed to
// `emit`, the cursor moves to lastRow + 0x00, and any failure restarts the scan there on a
// new connection. Scanner ids are never reused across connections (a restarted server
// numbers its scanners from 0 again).
#include "scan_reader.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "retry.h"

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

Record to_record(const HBaseSourceOptions& o, gen::TResult& r) {
  Record rec;
  rec.key = std::move(r.row);
  for (auto& cv : r.columnValues) {
    if (cv.family == o.column.family && cv.qualifier == o.column.qualifier) {
      rec.timestamp = cv.__isset.timestamp ? cv.timestamp : 0;
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

}  // namespace

ScanStats scan_range(const HBaseSourceOptions& o, const KeyRange& range,
                     const std::function<bool(Record&&)>& emit, RateLimiter* limiter) {
  ScanStats st;
  Session session(o.url, o.client);
  Backoff backoff(o.retry);
  const gen::TScan base = base_scan(o);
  std::string cursor = range.start;
  std::optional<std::int32_t> scanner;  // open server-side scanner on `session`, if any
  std::int64_t max_row = 0;             // largest row seen, sizes the next call
  int row_cap = std::max(1, o.rows_per_call);
  bool done = false;

  auto rows_for_next_call = [&]() {
    // First call: a few rows to learn the row size, then as many as fit bytes_per_call.
    if (max_row == 0) return std::min(row_cap, 8);
    const std::int64_t fit = std::max<std::int64_t>(1, o.bytes_per_call / max_row);
    return static_cast<int>(std::min<std::int64_t>(row_cap, fit));
  };
  auto scan_from_cursor = [&](int n) {
    gen::TScan scan = base;
    if (!cursor.empty()) scan.__set_startRow(cursor);
    if (!range.stop.empty()) scan.__set_stopRow(range.stop);
    scan.__set_caching(n);
    return scan;
  };
  auto close_scanner = [&]() {
    if (!scanner) return;
    try {
      session.client().closeScanner(*scanner);
    } catch (...) {
      // Best effort: the server expires idle scanners anyway.
    }
    scanner.reset();
  };

  while (!done) {
    const int n = rows_for_next_call();
    std::vector<gen::TResult> rows;
    try {
      if (o.stateless_pages) {
        session.client().getScannerResults(rows, o.url.table, scan_from_cursor(n), n);
      } else {
        if (!scanner) {
          scanner = session.client().openScanner(o.url.table, scan_from_cursor(n));
          ++st.reopens;
        }
        session.client().getScannerRows(rows, *scanner, n);
      }
    } catch (...) {
      std::string msg;
      const bool retry = is_retryable(std::current_exception(), &msg);
      scanner.reset();  // never reuse an id after a failure
      session.reset();
      if (msg.find("MaxMessageSize") != std::string::npos) row_cap = std::max(1, n / 2);
      if (!retry)
        throw Error("scan of " + o.url.str() + " at row '" + printable_key(cursor) + "': " + msg);
      if (!backoff.wait())
        throw Error("scan of " + o.url.str() + " at row '" + printable_key(cursor) +
                    "': gave up after " + std::to_string(backoff.failures()) + " attempts: " + msg);
      ++st.retries;
      continue;
    }
    backoff.reset();
    ++st.calls;
    std::int64_t bytes = 0;
    for (auto& r : rows) {
      const std::int64_t rb = row_bytes(r);
      bytes += rb;
      max_row = std::max(max_row, rb);
      std::string next = next_row(r.row);
      if (!emit(to_record(o, r))) {
        done = true;
        break;
      }
      cursor = std::move(next);
      ++st.rows;
    }
    st.bytes += bytes;
    if (limiter) limiter->acquire(bytes);
    // End of range: an empty answer; for pages also a short one (the server's scanner was
    // exhausted and closed).
    if (rows.empty() || (o.stateless_pages && static_cast<int>(rows.size()) < n)) done = true;
  }
  close_scanner();
  return st;
}

}  // namespace pm::hbase
