// The ?key=value options of an HBase URL, parsed in one place with every value's range
// checked, so that a source URL and a writer URL mean the same thing and a bad value is
// refused before any connection with a message that names the option.
#pragma once

#include <optional>
#include <string>

#include "pixelmill/hbase.h"

namespace pm::hbase {

// Ranges of the numeric options (inclusive). A timeout of 0 would mean "wait forever" to
// libthrift and a negative or overflowing one is silently ignored by TSocket, so both are
// refused; an hour bounds one socket read even for a very slow region server.
inline constexpr int kMaxTimeoutMs = 3600 * 1000;
// Each split costs one scanner open and two key-only probes at planning time; more than a
// thousand per region only adds planning calls.
inline constexpr int kMaxSplitsPerRegion = 1024;
// One call's rows are held in memory twice (Thrift structs, then records).
inline constexpr int kMaxRowsPerCall = 100000;

// Each field is set only when the query names it; duplicates are refused.
struct UrlOptions {
  std::optional<HBaseClientOptions::Protocol> protocol;
  std::optional<HBaseClientOptions::Transport> transport;
  std::optional<bool> tls;
  std::optional<int> timeout_ms;
  std::optional<bool> pages;
  std::optional<int> splits_per_region;
  std::optional<int> rows_per_call;
  std::optional<bool> report_missing;
};

// Throws pm::Error naming `url` and the option for an unknown key, a duplicate, or a value
// out of range.
UrlOptions parse_url_options(const HBaseUrl& url);

// Applies the connection options of `url` (its scheme) and `u` (its query) onto `o`. TLS
// without a named transport means HTTP (HBase serves TLS only in its HTTP mode). Throws
// pm::Error when they contradict each other (hbase+tls:// with tls=0; the compact protocol
// over HTTP, which HBase's HTTP mode does not speak).
void apply_client_options(const HBaseUrl& url, const UrlOptions& u, HBaseClientOptions& o);

}  // namespace pm::hbase
