#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <thrift/transport/TSSLSocket.h>

#include <cstdint>
#include <mutex>

namespace pm::hbase {

namespace tt = apache::thrift::transport;

namespace {

// Why the certificate check failed, recorded by the verify callback. It runs inside
// SSL_connect on the thread that calls handshake(), and libthrift's exception keeps only
// OpenSSL's "certificate verify failed": without this the user would not learn whether
// the CA or the name was wrong.
struct VerifyFailure {
  int error = 0;  // X509_V_ERR_*; 0 = none
  std::string subject;
};
thread_local VerifyFailure last_failure;

int remember_failure(int ok, X509_STORE_CTX* ctx) {
  if (!ok && last_failure.error == 0) {
    last_failure.error = X509_STORE_CTX_get_error(ctx);
    if (X509* cert = X509_STORE_CTX_get_current_cert(ctx)) {
      char buf[512];
      X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
      last_failure.subject = buf;
    }
  }
  return ok;
}

// OpenSSL has checked the certificate's name during the handshake (X509_VERIFY_PARAM);
// libthrift's own check afterwards (DefaultClientAccessManager) would only repeat it, less
// strictly (it falls back to the subject CN).
class VerifiedDuringHandshake final : public tt::AccessManager {
 public:
  Decision verify(const sockaddr_storage&) noexcept override { return ALLOW; }
};

// TSSLSocketFactory keeps its SSL_CTX protected; the verification settings need it.
class Factory final : public tt::TSSLSocketFactory {
 public:
  Factory() : tt::TSSLSocketFactory(tt::TLSv1_2) {}  // TLS 1.2 or later
  SSL_CTX* ctx() { return ctx_->get(); }
};

void init_openssl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // OpenSSL 3 initialises itself. libthrift would also tear OpenSSL down whenever its
    // last factory goes away, i.e. between two sessions of one run: not wanted.
    tt::TSSLSocketFactory::setManualOpenSSLInitialization(true);
    OPENSSL_init_ssl(0, nullptr);
  });
}

std::string openssl_errors() {
  std::string out;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown error" : out;
}

bool is_ip_address(const std::string& host) {
  unsigned char a[16];
  return inet_pton(AF_INET, host.c_str(), a) == 1 || inet_pton(AF_INET6, host.c_str(), a) == 1;
}

// What to do about a refused certificate, in the user's terms.
std::string hint(int error, const TlsFiles& files, const std::string& host) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return files.ca.empty() ? "no CA of the system trust store signed it (give its CA with --tls-ca)"
                              : "no CA in --tls-ca " + files.ca + " signed it";
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "it is not a certificate for " + host + " (connect by a name it carries)";
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "it does not carry the IP address " + host + " (connect by a name it carries)";
    default:
      return "";
  }
}

}  // namespace

TlsContext::TlsContext(const std::string& host, const TlsFiles& files) : host_(host), files_(files) {
  if (files.cert.empty() != files.key.empty())
    throw TlsError("TLS: --tls-cert and --tls-key go together (a client certificate needs its key)");
  init_openssl_once();
  ERR_clear_error();
  auto factory = std::make_unique<Factory>();
  SSL_CTX* ctx = factory->ctx();
  if (files.ca.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      throw TlsError("TLS: cannot load the system trust store: " + openssl_errors());
  } else if (SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1) {
    throw TlsError("TLS: cannot load the CA certificates of --tls-ca " + files.ca + ": " +
                   openssl_errors());
  }
  if (!files.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1)
      throw TlsError("TLS: cannot load --tls-cert " + files.cert + ": " + openssl_errors());
    const std::string not_its_key =
        "TLS: --tls-key " + files.key + " is not the key of --tls-cert " + files.cert;
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      // OpenSSL compares the key with the certificate as it loads it.
      if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        throw TlsError(not_its_key);
      }
      throw TlsError("TLS: cannot load --tls-key " + files.key + ": " + openssl_errors());
    }
    if (SSL_CTX_check_private_key(ctx) != 1) throw TlsError(not_its_key);
  }
  // The name check belongs to the chain check: a certificate for another host fails the
  // handshake like one from an unknown CA. Inherited by every SSL made from this context.
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int named = is_ip_address(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                                        : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (named != 1) throw TlsError("TLS: cannot check certificates against the host '" + host + "'");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, remember_failure);
  factory->access(std::make_shared<VerifiedDuringHandshake>());
  factory_ = std::move(factory);
}

TlsContext::~TlsContext() = default;

std::shared_ptr<tt::TSSLSocket> TlsContext::socket(int port) {
  return factory_->createSocket(host_, port);
}

void TlsContext::handshake(tt::TSSLSocket& socket, int port) {
  last_failure = {};
  ERR_clear_error();
  try {
    // A write of nothing runs the handshake (libthrift starts it on the first I/O).
    const std::uint8_t nothing = 0;
    socket.write(&nothing, 0);
  } catch (const tt::TTransportException& e) {
    const std::string where = "TLS handshake with " + host_ + ":" + std::to_string(port);
    if (last_failure.error != 0) {
      std::string msg = where + ": the server's certificate was refused: " +
                        X509_verify_cert_error_string(last_failure.error);
      if (!last_failure.subject.empty()) msg += " (certificate " + last_failure.subject + ")";
      const std::string h = hint(last_failure.error, files_, host_);
      if (!h.empty()) msg += ": " + h;
      throw TlsError(msg);
    }
    // SSL_ERROR_SSL: the peer answered, but not with TLS we accept (a plain port, no
    // common version or cipher, a refused client certificate); another attempt will not
    // change that. An I/O error or EOF (a server going down mid-handshake) stays a
    // transport error and is retried.
    const std::string what = e.what();
    const bool eof = what.find("unexpected eof") != std::string::npos;
    if (what.find("SSL_error_code = 1)") != std::string::npos && !eof)
      throw TlsError(where + " failed: " + what + " (is it a TLS port?)");
    if (eof)
      throw tt::TTransportException(
          tt::TTransportException::END_OF_FILE,
          where + ": the server closed the connection (a plain port? HBase serves TLS only in "
                  "its HTTP mode, with hbase.thrift.ssl.enabled)");
    throw;
  }
}

}  // namespace pm::hbase
