// Rows the client refuses to receive whole: a cell longer than the string limit makes
// libthrift throw SIZE_LIMIT on its length field. Such rows are found and handled without
// their values, so that one huge cell becomes one kTooLarge record, not a scan that fails
// on it until its retry budget is spent.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "pixelmill/hbase.h"
#include "pixelmill/record.h"
#include "retry.h"

namespace pm::hbase {

// True when `e` says a reply was refused for its size: a string or list over the
// protocol limits, or a reply over the response budget (response_budget.h).
bool is_string_over_limit(std::exception_ptr e);
bool is_reply_over_budget(std::exception_ptr e);

// A row as the scan would return it, values replaced by their lengths.
struct RowCellSizes {
  std::string row;
  std::int64_t image_bytes = -1;  // -1: the row has no image cell (in the scan's time range)
  std::int64_t image_timestamp = 0;
  std::int64_t largest_bytes = 0;  // the largest value the scan would return for the row
};

// The first `rows` rows in [from, stop) with the scan's columns and filter, key-only with
// each value's length (HBase's KeyOnlyFilter(true)): a few bytes per cell whatever its size.
std::vector<RowCellSizes> row_cell_sizes(Session& s, const HBaseSourceOptions& o,
                                         const std::string& from, const std::string& stop,
                                         int rows);

// The record for a row that cannot be received whole: kTooLarge when its image cell is over
// o.max_cell_bytes, else the image cell alone (without the row's other, oversized cell).
Record read_oversize_row(Session& s, const HBaseSourceOptions& o, const RowCellSizes& row);

}  // namespace pm::hbase
