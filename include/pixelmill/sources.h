// Opening a source from its command-line spec: `dir:PATH` (recursive), `list:FILE`
// (one path a line), `hbase://HOST:PORT/TABLE` (or `hbase+tls://`, over HTTPS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pixelmill/source.h"
#include "pixelmill/tls_files.h"

namespace pm {

struct SourceOptions {
  std::int64_t split_records = 0;  // records per split for file sources (0 = automatic)
  int ranks = 1;                   // used to size automatic splits
  // Records larger than this are not read: a kTooLarge record without bytes (0 = no limit).
  // File sources check the size before reading (--max-bytes).
  std::int64_t max_record_bytes = 0;
  // HBase only:
  std::string column;              // family:qualifier holding the image bytes
  std::string start_row, stop_row; // row range [start, stop)
  std::int64_t since = -1, until = -1;  // cell timestamp range [since, until) in ms; -1 = open
  double max_read_mbps = 0;        // per-rank read limit; 0 = none
  TlsFiles tls;                    // for hbase+tls:// (or ?tls=1) inputs
};

// An HBase URL, plain or TLS: hbase://... or hbase+tls://...
inline bool is_hbase_url(const std::string& spec) {
  return spec.rfind("hbase://", 0) == 0 || spec.rfind("hbase+tls://", 0) == 0;
}

// Throws pm::Error for an unknown scheme or a spec that cannot be opened.
std::unique_ptr<Source> open_source(const std::string& spec, const SourceOptions& options);

}  // namespace pm
