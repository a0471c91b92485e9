// pm::Source for hbase://HOST:PORT/TABLE.
#include <atomic>
#include <cstdlib>
#include <sstream>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "planner.h"
#include "rate_limiter.h"
#include "scan_reader.h"

namespace pm {

namespace {

class HBaseSource final : public Source {
 public:
  explicit HBaseSource(HBaseSourceOptions o)
      : o_(std::move(o)), limiter_(o_.max_read_mbps * 1e6) {}

  std::vector<SplitSpec> plan() override { return hbase::plan_splits(o_); }

  void read_split(const SplitSpec& split, const std::function<bool(Record&&)>& emit) override {
    const auto st = hbase::scan_range(o_, {split.start, split.stop}, emit,
                                      limiter_.enabled() ? &limiter_ : nullptr);
    rows_ += st.rows;
    bytes_ += st.bytes;
    retries_ += st.retries;
  }

  std::string describe() const override {
    std::ostringstream s;
    s << o_.url.str() << " column " << o_.column.str();
    if (rows_ > 0)
      s << " (" << rows_ << " rows, " << bytes_ << " bytes read, " << retries_ << " retries)";
    return s.str();
  }

 private:
  HBaseSourceOptions o_;
  hbase::RateLimiter limiter_;
  std::atomic<std::int64_t> rows_{0}, bytes_{0}, retries_{0};
};

int to_int(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') throw Error("HBase URL option " + key + "=" + v + ": not a number");
  return static_cast<int>(x);
}

// Applies the URL's ?key=value&... options (see HBaseUrl).
void apply_query(const std::string& query, HBaseSourceOptions& o) {
  std::istringstream in(query);
  std::string kv;
  while (std::getline(in, kv, '&')) {
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    const std::string k = kv.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "protocol" && (v == "binary" || v == "compact"))
      o.client.protocol = v == "compact" ? HBaseClientOptions::Protocol::kCompact
                                         : HBaseClientOptions::Protocol::kBinary;
    else if (k == "transport" && (v == "buffered" || v == "framed"))
      o.client.transport = v == "framed" ? HBaseClientOptions::Transport::kFramed
                                         : HBaseClientOptions::Transport::kBuffered;
    else if (k == "pages")
      o.stateless_pages = to_int(k, v) != 0;
    else if (k == "splits_per_region")
      o.splits_per_region = to_int(k, v);
    else if (k == "rows_per_call")
      o.rows_per_call = to_int(k, v);
    else if (k == "timeout_ms")
      o.client.io_timeout_ms = to_int(k, v);
    else if (k == "report_missing")
      o.report_missing = to_int(k, v) != 0;
    else
      throw Error("unknown HBase URL option '" + kv + "'");
  }
}

}  // namespace

std::unique_ptr<Source> make_hbase_source(const HBaseSourceOptions& options) {
  HBaseSourceOptions o = options;
  if (o.url.table.empty()) throw Error("HBase source: no table");
  if (o.column.family.empty()) throw Error("HBase source: no column family");
  if (o.since_ms >= 0 && o.until_ms >= 0 && o.since_ms >= o.until_ms)
    throw Error("--since must be below --until");
  apply_query(o.url.query, o);
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
  // Enough splits that every rank has several to claim (dynamic balance).
  o.min_splits = 4 * std::max(1, so.ranks);
  return make_hbase_source(o);
}

}  // namespace pm
