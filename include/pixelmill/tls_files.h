// Files of a TLS client (HBase's Thrift server over HTTPS): the flags --tls-ca, --tls-cert
// and --tls-key. Plain paths, so that the options of modules built without HBase carry
// them through to whoever connects.
#pragma once

#include <string>

namespace pm {

struct TlsFiles {
  std::string ca;    // PEM CA certificate(s) the server's must chain to; "" = the system store
  std::string cert;  // PEM client certificate (and chain), for servers that ask; "" = none
  std::string key;   // PEM private key of `cert`, unencrypted; given with `cert` or not at all
  bool any() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

}  // namespace pm
