#include "oversize_rows.h"

#include <thrift/protocol/TProtocolException.h>

#include "key_range.h"
#include "response_budget.h"
#include "scan_request.h"

namespace pm::hbase {

bool is_string_over_limit(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const apache::thrift::protocol::TProtocolException& x) {
    return x.getType() == apache::thrift::protocol::TProtocolException::SIZE_LIMIT;
  } catch (...) {
    return false;
  }
}

bool is_reply_over_budget(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const ResponseTooLarge&) {
    return true;
  } catch (const apache::thrift::transport::TTransportException& x) {
    // libthrift's own budget (containers, frames) says this.
    return std::string(x.what()).find("MaxMessageSize") != std::string::npos;
  } catch (...) {
    return false;
  }
}

namespace {

// KeyOnlyFilter(true) replaces each value by its length as a 4-byte big-endian int.
std::int64_t value_length(const std::string& v) {
  if (v.size() != 4) return static_cast<std::int64_t>(v.size());
  std::int64_t n = 0;
  for (unsigned char c : v) n = (n << 8) | c;
  return n;
}

}  // namespace

std::vector<RowCellSizes> row_cell_sizes(Session& s, const HBaseSourceOptions& o,
                                         const std::string& from, const std::string& stop,
                                         int rows) {
  gen::TScan scan = base_scan(o);
  const std::string lengths = "KeyOnlyFilter(true)";
  scan.__set_filterString(scan.__isset.filterString ? "(" + scan.filterString + ") AND " + lengths
                                                    : lengths);
  if (!from.empty()) scan.__set_startRow(from);
  if (!stop.empty()) scan.__set_stopRow(stop);
  scan.__set_caching(rows);
  scan.__set_limit(rows);
  std::vector<gen::TResult> got;
  with_retries(s, o.retry, "getScannerResults (cell sizes)",
               [&](auto& c) { c.getScannerResults(got, o.url.table, scan, rows); });
  std::vector<RowCellSizes> out;
  for (const auto& r : got) {
    RowCellSizes sz;
    sz.row = r.row;
    for (const auto& cv : r.columnValues) {
      const std::int64_t n = value_length(cv.value);
      sz.largest_bytes = std::max(sz.largest_bytes, n);
      if (cv.family == o.column.family && cv.qualifier == o.column.qualifier) {
        sz.image_bytes = n;
        sz.image_timestamp = cv.__isset.timestamp ? cv.timestamp : 0;
      }
    }
    out.push_back(std::move(sz));
  }
  return out;
}

Record read_oversize_row(Session& s, const HBaseSourceOptions& o, const RowCellSizes& row) {
  if (row.image_bytes > o.max_cell_bytes) {
    Record rec;
    rec.key = row.row;
    rec.timestamp = row.image_timestamp;
    rec.status = Status::error(StatusCode::kTooLarge, too_large_message(o, row.image_bytes));
    return rec;
  }
  // The oversized value is another cell of the row (the first one, which the scan asks
  // for to see rows without the image): read the image cell alone.
  gen::TScan scan = base_scan(o);
  scan.__isset.filterString = false;
  scan.filterString.clear();
  gen::TColumn col;
  col.family = o.column.family;
  col.__set_qualifier(o.column.qualifier);
  scan.__set_columns({col});
  scan.__set_startRow(row.row);
  scan.__set_stopRow(next_row(row.row));
  scan.__set_caching(1);
  scan.__set_limit(1);
  std::vector<gen::TResult> got;
  with_retries(s, o.retry, "getScannerResults (image cell alone)",
               [&](auto& c) { c.getScannerResults(got, o.url.table, scan, 1); });
  if (got.empty()) {
    Record rec;
    rec.key = row.row;
    rec.status = Status::error(StatusCode::kMissing, "no cell " + o.column.str());
    return rec;
  }
  return to_record(o, got.front());
}

}  // namespace pm::hbase
