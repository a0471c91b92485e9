// The scan loop. Two designs (HBASE.md 4.3), one resume rule: after each row handed to
// `emit`, the cursor moves to lastRow + 0x00, and any failure restarts the scan there on a
// new connection. Scanner ids are never reused across connections (a restarted server
// numbers its scanners from 0 again).
#include "scan_reader.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "oversize_rows.h"
#include "retry.h"
#include "scan_limits.h"
#include "scan_request.h"

namespace pm::hbase {

ScanStats scan_range(const HBaseSourceOptions& o, const KeyRange& range,
                     const std::function<bool(Record&&)>& emit, const ScanShared& shared) {
  ScanStats st;
  Session session(o.url, o.client, shared.counters);
  RateLimiter* const limiter = shared.limiter;
  Backoff backoff(o.retry);
  const gen::TScan base = base_scan(o);
  std::string cursor = range.start;
  std::optional<std::int32_t> scanner;  // open server-side scanner on `session`, if any
  // Largest row seen (here or by an earlier split), sizes the next call.
  std::int64_t max_row = shared.largest_row ? shared.largest_row->load(std::memory_order_relaxed) : 0;
  int row_cap = std::max(1, o.rows_per_call);
  int rows_before_oversize = 0;         // > 0: the next call stops short of a row too large
  bool done = false;

  auto rows_for_next_call = [&]() {
    if (rows_before_oversize > 0) return rows_before_oversize;
    // First call: a few rows to learn the row size (as many as fit the response limit
    // even with the largest cells allowed), then as many as fit bytes_per_call.
    if (max_row == 0) return first_call_rows(o.client, std::min(row_cap, 8));
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
  auto fail = [&](const std::string& why) {
    return Error("scan of " + o.url.str() + " at row '" + printable_key(cursor) + "': " + why);
  };
  // A cell over the string limit in the next `n` rows: read the rows before it as usual,
  // and the row itself without the value it cannot receive. True when handled.
  auto handle_oversize = [&](int n) {
    const auto sizes = row_cell_sizes(session, o, cursor, range.stop, n);
    std::size_t k = 0;
    while (k < sizes.size() && sizes[k].largest_bytes <= o.client.max_string_bytes) ++k;
    if (k == sizes.size()) return false;  // gone meanwhile (rewritten?): an ordinary retry
    if (k > 0) {
      rows_before_oversize = static_cast<int>(k);
      return true;
    }
    std::string next = next_row(sizes[0].row);
    if (!emit(read_oversize_row(session, o, sizes[0]))) {
      done = true;
      return true;
    }
    cursor = std::move(next);
    ++st.rows;
    return true;
  };

  while (!done) {
    const int n = rows_for_next_call();
    rows_before_oversize = 0;
    std::vector<gen::TResult> rows;
    try {
      if (o.stateless_pages) {
        session.client().getScannerResults(rows, o.url.table, scan_from_cursor(n), n);
      } else {
        if (!scanner) {
          // The scan's caching is how many rows the Thrift server fetches from the region
          // server per RPC for this scanner's whole life: never fewer than a first call of
          // the old default (8), even when this call asks for fewer rows to learn their size.
          scanner = session.client().openScanner(
              o.url.table, scan_from_cursor(std::max(n, std::min(row_cap, 8))));
          ++st.reopens;
        }
        session.client().getScannerRows(rows, *scanner, n);
      }
    } catch (...) {
      const auto e = std::current_exception();
      std::string msg;
      const bool retry = is_retryable(e, &msg);
      scanner.reset();  // never reuse an id after a failure
      // Too much at once is not a server failure: fewer rows, or the oversized row alone.
      // The connection stopped mid-reply all the same and must go.
      if (is_reply_over_budget(e) && n > 1) {
        session.drop();
        row_cap = std::max(1, n / 2);
        continue;
      }
      if (is_string_over_limit(e)) {
        session.drop();
        if (handle_oversize(n)) continue;
      }
      session.reset();
      if (!retry) throw fail(msg);
      if (!backoff.wait())
        throw fail("gave up after " + std::to_string(backoff.failures()) + " attempts: " + msg);
      session.count_retry();
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
    if (shared.largest_row) {
      std::int64_t seen = shared.largest_row->load(std::memory_order_relaxed);
      while (max_row > seen &&
             !shared.largest_row->compare_exchange_weak(seen, max_row, std::memory_order_relaxed)) {
      }
    }
    // End of range: an empty answer; for pages also a short one (the server's scanner was
    // exhausted and closed).
    if (rows.empty() || (o.stateless_pages && static_cast<int>(rows.size()) < n)) done = true;
  }
  close_scanner();
  return st;
}

}  // namespace pm::hbase
