// What a scan of the image column asks the server for, and how one returned row becomes a
// Record. Shared by the scan loop and by the handling of rows too large to receive whole.
#pragma once

#include <cstdint>
#include <string>

#include "connection.h"
#include "pixelmill/hbase.h"
#include "pixelmill/record.h"

namespace pm::hbase {

// The scan without a row range: the image column (the whole family with a filter when
// missing cells are reported), the time range, one version, no block caching.
gen::TScan base_scan(const HBaseSourceOptions& o);

// The row as a record: kMissing without the image cell, kEmpty when it is empty,
// kTooLarge (without the bytes) when it is over o.max_cell_bytes. Moves out of `r`.
Record to_record(const HBaseSourceOptions& o, gen::TResult& r);

// Bytes of a row as received (key, names and values): sizes the next call.
std::int64_t row_bytes(const gen::TResult& r);

// The message of a kTooLarge record for a cell of `bytes`.
std::string too_large_message(const HBaseSourceOptions& o, std::int64_t bytes);

}  // namespace pm::hbase
