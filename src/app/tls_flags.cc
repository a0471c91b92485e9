#include "tls_flags.h"

#include <fstream>

#include "pixelmill/error.h"

namespace pm::app {

void add_tls_flags(po::options_description& desc, TlsFiles& tls) {
  desc.add_options()
      ("tls-ca", po::value(&tls.ca)->default_value(""),
       "hbase+tls:// URLs: PEM file of the CA(s) that signed the Thrift server's certificate "
       "(default: the system trust store)")
      ("tls-cert", po::value(&tls.cert)->default_value(""),
       "hbase+tls:// URLs: PEM client certificate, for a server that asks for one (with --tls-key)")
      ("tls-key", po::value(&tls.key)->default_value(""),
       "hbase+tls:// URLs: PEM private key of --tls-cert (unencrypted)");
}

bool is_tls_url(const std::string& url) {
  if (url.rfind("hbase+tls://", 0) == 0) return true;
  if (url.rfind("hbase://", 0) != 0) return false;
  const auto q = url.find('?');
  if (q == std::string::npos) return false;
  const std::string query = "&" + url.substr(q + 1) + "&";
  return query.find("&tls=1&") != std::string::npos;
}

void check_tls_flags(const TlsFiles& tls, const std::vector<std::string>& urls, bool urls_complete) {
  if (tls.cert.empty() != tls.key.empty())
    throw Error("--tls-cert and --tls-key go together (a client certificate needs its key)");
  for (const auto& [flag, path] : {std::pair{"--tls-ca", tls.ca}, std::pair{"--tls-cert", tls.cert},
                                   std::pair{"--tls-key", tls.key}})
    if (!path.empty() && !std::ifstream(path))
      throw Error(std::string(flag) + " " + path + ": cannot read the file");
  if (!tls.any() || !urls_complete) return;
  for (const auto& u : urls)
    if (is_tls_url(u)) return;
  throw Error("--tls-ca/--tls-cert/--tls-key apply to hbase+tls:// URLs (or ?tls=1), and none is "
              "given: use hbase+tls://HOST:PORT/TABLE to connect over TLS");
}

}  // namespace pm::app
