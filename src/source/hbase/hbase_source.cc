// pm::Source for hbase://HOST:PORT/TABLE.
#include <algorithm>
#include <atomic>
#include <limits>
#include <sstream>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "planner.h"
#include "rate_limiter.h"
#include "retry.h"
#include "scan_limits.h"
#include "scan_reader.h"
#include "url_options.h"

namespace pm {

namespace {

class HBaseSource final : public Source {
 public:
  explicit HBaseSource(HBaseSourceOptions o)
      : o_(std::move(o)), limiter_(o_.max_read_mbps * 1e6) {}

  std::vector<SplitSpec> plan() override { return hbase::plan_splits(o_, &counters_); }

  void read_split(const SplitSpec& split, const std::function<bool(Record&&)>& emit) override {
    hbase::ScanShared shared;
    shared.limiter = limiter_.enabled() ? &limiter_ : nullptr;
    shared.counters = &counters_;
    shared.largest_row = &largest_row_;
    const auto st = hbase::scan_range(o_, {split.start, split.stop}, emit, shared);
    rows_ += st.rows;
    bytes_ += st.bytes;
  }

  std::string describe() const override {
    std::ostringstream s;
    s << o_.url.str() << " column " << o_.column.str();
    if (rows_ > 0)
      s << " (" << rows_ << " rows, " << bytes_ << " bytes read, " << counters_.retries
        << " retries)";
    return s.str();
  }

  ConnectionCounters connection_counters() const override {
    ConnectionCounters c;
    c.remote = true;
    c.retries = counters_.retries.load(std::memory_order_relaxed);
    c.reconnects = counters_.reconnects.load(std::memory_order_relaxed);
    return c;
  }

 private:
  HBaseSourceOptions o_;
  hbase::RateLimiter limiter_;
  hbase::TransportCounters counters_;
  std::atomic<std::int64_t> rows_{0}, bytes_{0};
  std::atomic<std::int64_t> largest_row_{0};  // over all splits so far (scan_reader.h)
};

// Applies the URL's ?key=value&... options (see HBaseUrl).
void apply_query(const HBaseUrl& url, HBaseSourceOptions& o) {
  const hbase::UrlOptions u = hbase::parse_url_options(url);
  hbase::apply_client_options(url, u, o.client);
  if (u.pages) o.stateless_pages = *u.pages;
  if (u.splits_per_region) o.splits_per_region = *u.splits_per_region;
  if (u.rows_per_call) o.rows_per_call = *u.rows_per_call;
  if (u.report_missing) o.report_missing = *u.report_missing;
}

// Options set in code (not only through the URL) get the same bounds.
void check_ranges(const HBaseSourceOptions& o) {
  const auto in = [](std::int64_t v, std::int64_t lo, std::int64_t hi) { return v >= lo && v <= hi; };
  if (!in(o.splits_per_region, 1, hbase::kMaxSplitsPerRegion))
    throw Error("HBase source: splits_per_region=" + std::to_string(o.splits_per_region) +
                " must be in 1.." + std::to_string(hbase::kMaxSplitsPerRegion));
  if (!in(o.rows_per_call, 1, hbase::kMaxRowsPerCall))
    throw Error("HBase source: rows_per_call=" + std::to_string(o.rows_per_call) + " must be in 1.." +
                std::to_string(hbase::kMaxRowsPerCall));
  if (!in(o.client.io_timeout_ms, 1, hbase::kMaxTimeoutMs))
    throw Error("HBase source: timeout_ms=" + std::to_string(o.client.io_timeout_ms) +
                " must be in 1.." + std::to_string(hbase::kMaxTimeoutMs));
  if (o.min_splits < 0) throw Error("HBase source: min_splits cannot be negative");
  if (!in(o.max_cell_bytes, 1, std::numeric_limits<std::int32_t>::max()))
    throw Error("HBase source: max_cell_bytes=" + std::to_string(o.max_cell_bytes) +
                " must be in 1..2147483647");
  if (o.bytes_per_call < 1) throw Error("HBase source: bytes_per_call must be positive");
}

}  // namespace

std::unique_ptr<Source> make_hbase_source(const HBaseSourceOptions& options) {
  HBaseSourceOptions o = options;
  if (o.url.table.empty()) throw Error("HBase source: no table");
  if (o.column.family.empty()) throw Error("HBase source: no column family");
  if (o.since_ms >= 0 && o.until_ms >= 0 && o.since_ms >= o.until_ms)
    throw Error("--since must be below --until");
  apply_query(o.url, o);
  check_ranges(o);
  hbase::set_scan_limits(o);
  return std::make_unique<HBaseSource>(std::move(o));
}

std::unique_ptr<Source> make_hbase_source_from_spec(const std::string& spec,
                                                    const SourceOptions& so) {
  HBaseSourceOptions o;
  o.url = parse_hbase_url(spec);
  if (!so.column.empty()) o.column = parse_hbase_column(so.column);
  o.start_row = hbase_unescape_key(so.start_row);
  o.stop_row = hbase_unescape_key(so.stop_row);
  o.since_ms = so.since;
  o.until_ms = so.until;
  o.max_read_mbps = so.max_read_mbps;
  o.client.tls_files = so.tls;
  // HBase cells cannot exceed 2 GiB: a larger --max-bytes is no limit at all.
  if (so.max_record_bytes > 0)
    o.max_cell_bytes = std::min<std::int64_t>(so.max_record_bytes,
                                              std::numeric_limits<std::int32_t>::max());
  // Enough splits that every rank has several to claim (dynamic balance).
  o.min_splits = 4 * std::max(1, so.ranks);
  return make_hbase_source(o);
}

}  // namespace pm
