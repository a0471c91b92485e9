#include "url_options.h"

#include <set>

#include "pixelmill/error.h"

namespace pm::hbase {

namespace {

// Digits only: strtol would accept " 5", "+5" and "5x" prefixes, and wrap or clamp
// values that do not fit.
int parse_int(const std::string& key, const std::string& v, int lo, int hi,
              const std::string& where) {
  const auto bad = [&] {
    return Error("HBase URL " + where + ": option " + key + "=" + v + " must be a whole number in " +
                 std::to_string(lo) + ".." + std::to_string(hi));
  };
  if (v.empty() || v.size() > 10) throw bad();
  long long x = 0;
  for (char c : v) {
    if (c < '0' || c > '9') throw bad();
    x = x * 10 + (c - '0');
  }
  if (x < lo || x > hi) throw bad();
  return static_cast<int>(x);
}

bool parse_flag(const std::string& key, const std::string& v, const std::string& where) {
  if (v == "0" || v == "1") return v == "1";
  throw Error("HBase URL " + where + ": option " + key + "=" + v + " must be 0 or 1");
}

}  // namespace

UrlOptions parse_url_options(const HBaseUrl& url) {
  UrlOptions out;
  const std::string where = url.str();
  std::set<std::string> seen;
  std::size_t pos = 0;
  while (pos <= url.query.size()) {
    std::size_t amp = url.query.find('&', pos);
    if (amp == std::string::npos) amp = url.query.size();
    const std::string kv = url.query.substr(pos, amp - pos);
    pos = amp + 1;
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    const std::string k = kv.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (!seen.insert(k).second)
      throw Error("HBase URL " + where + ": option " + k + " is given twice");
    if (k == "protocol") {
      if (v != "binary" && v != "compact")
        throw Error("HBase URL " + where + ": option protocol=" + v + " must be binary or compact");
      out.protocol = v == "compact" ? HBaseClientOptions::Protocol::kCompact
                                    : HBaseClientOptions::Protocol::kBinary;
    } else if (k == "transport") {
      if (v == "buffered") out.transport = HBaseClientOptions::Transport::kBuffered;
      else if (v == "framed") out.transport = HBaseClientOptions::Transport::kFramed;
      else if (v == "http") out.transport = HBaseClientOptions::Transport::kHttp;
      else
        throw Error("HBase URL " + where + ": option transport=" + v +
                    " must be buffered, framed or http");
    } else if (k == "tls") {
      out.tls = parse_flag(k, v, where);
    } else if (k == "timeout_ms") {
      out.timeout_ms = parse_int(k, v, 1, kMaxTimeoutMs, where);
    } else if (k == "pages") {
      out.pages = parse_flag(k, v, where);
    } else if (k == "splits_per_region") {
      out.splits_per_region = parse_int(k, v, 1, kMaxSplitsPerRegion, where);
    } else if (k == "rows_per_call") {
      out.rows_per_call = parse_int(k, v, 1, kMaxRowsPerCall, where);
    } else if (k == "report_missing") {
      out.report_missing = parse_flag(k, v, where);
    } else {
      throw Error("HBase URL " + where + ": unknown option '" + kv +
                  "' (known: protocol, transport, tls, timeout_ms, pages, splits_per_region, "
                  "rows_per_call, report_missing)");
    }
  }
  return out;
}

void apply_client_options(const HBaseUrl& url, const UrlOptions& u, HBaseClientOptions& o) {
  if (url.tls && u.tls && !*u.tls)
    throw Error("HBase URL " + url.str() + ": tls=0 contradicts the hbase+tls:// scheme");
  if (u.protocol) o.protocol = *u.protocol;
  o.tls = url.tls || u.tls.value_or(false);
  if (u.transport) o.transport = *u.transport;
  else if (o.tls) o.transport = HBaseClientOptions::Transport::kHttp;
  if (u.timeout_ms) o.io_timeout_ms = *u.timeout_ms;
  if (o.transport == HBaseClientOptions::Transport::kHttp &&
      o.protocol == HBaseClientOptions::Protocol::kCompact)
    throw Error("HBase URL " + url.str() +
                ": HBase's Thrift HTTP mode speaks the binary protocol only (drop protocol=compact)");
}

}  // namespace pm::hbase
