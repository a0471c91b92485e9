// hbase:// URLs and family:qualifier specs.
#include <cstdlib>
#include <string>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "url_options.h"

namespace pm {

std::string HBaseUrl::str() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "hbase+tls://" : "hbase://") + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port) + "/" + table;
}

HBaseUrl parse_hbase_url(const std::string& url) {
  const auto bad = [&](const std::string& why) {
    return Error("bad HBase URL '" + url + "': " + why +
                 " (expected hbase://HOST:PORT/TABLE or hbase+tls://HOST:PORT/TABLE)");
  };
  HBaseUrl out;
  std::string rest;
  if (url.rfind("hbase://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("hbase+tls://", 0) == 0) {
    rest = url.substr(12);
    out.tls = true;
  } else {
    throw bad("no hbase:// or hbase+tls:// scheme");
  }
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

std::string hbase_unescape_key(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 >= text.size()) throw Error("row key '" + text + "': a trailing backslash");
    const char c = text[++i];
    if (c == 'x') {
      auto hex = [&](std::size_t j) -> int {
        if (j >= text.size()) return -1;
        const char h = text[j];
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      const int hi = hex(i + 1), lo = hex(i + 2);
      if (hi < 0 || lo < 0) throw Error("row key '" + text + "': \\x needs two hex digits");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '\\' || c == ',') {
      out.push_back(c);
    } else {
      throw Error("row key '" + text + "': unknown escape \\" + std::string(1, c));
    }
  }
  return out;
}

HBaseColumn parse_hbase_column(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0)
    throw Error("bad HBase column '" + spec + "': expected family:qualifier");
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

HBaseClientOptions hbase_client_options(const HBaseUrl& url, const TlsFiles& tls) {
  HBaseClientOptions o;
  o.tls_files = tls;
  hbase::apply_client_options(url, hbase::parse_url_options(url), o);
  return o;
}

}  // namespace pm
