// The TLS side of a client: one OpenSSL context per session (reconnects reuse it) with the
// trusted CAs, the optional client certificate, and the server name that every handshake
// verifies. libthrift's TSSLSocket does the I/O; OpenSSL checks the chain and the name
// during the handshake (X509_VERIFY_PARAM), so a certificate for another host fails there.
#pragma once

#include <memory>
#include <string>

#include "pixelmill/error.h"
#include "pixelmill/tls_files.h"

namespace apache::thrift::transport {
class TSSLSocket;
class TSSLSocketFactory;
}  // namespace apache::thrift::transport

namespace pm::hbase {

// A TLS failure that another attempt cannot fix (an untrusted or misnamed certificate, a
// peer that does not speak TLS, unreadable files): reported at once, never retried.
class TlsError : public Error {
 public:
  using Error::Error;
};

class TlsContext {
 public:
  // Loads the files; throws TlsError when one cannot be used. `host` is the name the
  // server's certificate must carry (DNS name, or IP address when `host` is one).
  TlsContext(const std::string& host, const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // An unopened socket to host:port whose handshake verifies the server.
  std::shared_ptr<apache::thrift::transport::TSSLSocket> socket(int port);

  // Completes the handshake on an opened socket now, not on its first read: a refused
  // certificate then surfaces as TlsError with the reason (unknown CA, name mismatch,
  // expired, ...), while a dropped connection stays a transport error (retried).
  void handshake(apache::thrift::transport::TSSLSocket& socket, int port);

 private:
  std::string host_;
  TlsFiles files_;
  std::unique_ptr<apache::thrift::transport::TSSLSocketFactory> factory_;
};

}  // namespace pm::hbase
