// hbase:// URLs and family:qualifier specs.
#include <cstdlib>
#include <string>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"

namespace pm {

std::string HBaseUrl::str() const {
  return "hbase://" + host + ":" + std::to_string(port) + "/" + table;
}

HBaseUrl parse_hbase_url(const std::string& url) {
  const std::string scheme = "hbase://";
  const auto bad = [&](const std::string& why) {
    return Error("bad HBase URL '" + url + "': " + why + " (expected hbase://HOST:PORT/TABLE)");
  };
  if (url.rfind(scheme, 0) != 0) throw bad("no hbase:// scheme");
  std::string rest = url.substr(scheme.size());
  HBaseUrl out;
  if (const auto q = rest.find('?'); q != std::string::npos) {
    out.query = rest.substr(q + 1);
    rest.resize(q);
  }
  const auto slash = rest.find('/');
  if (slash == std::string::npos) throw bad("no table");
  std::string hostport = rest.substr(0, slash);
  out.table = rest.substr(slash + 1);
  if (out.table.empty()) throw bad("empty table name");
  if (out.table.find('/') != std::string::npos) throw bad("'/' in table name");
  std::string port;
  if (!hostport.empty() && hostport.front() == '[') {  // [v6addr]:port
    const auto close = hostport.find(']');
    if (close == std::string::npos) throw bad("unclosed '['");
    out.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') throw bad("junk after ']'");
      port = hostport.substr(close + 2);
    }
  } else if (const auto colon = hostport.rfind(':'); colon != std::string::npos) {
    out.host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  } else {
    out.host = hostport;
  }
  if (out.host.empty()) throw bad("empty host");
  if (!port.empty()) {
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) throw bad("port '" + port + "'");
    out.port = static_cast<int>(p);
  }
  return out;
}

HBaseColumn parse_hbase_column(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0)
    throw Error("bad HBase column '" + spec + "': expected family:qualifier");
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

}  // namespace pm
