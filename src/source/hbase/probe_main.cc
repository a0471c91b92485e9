// pm-hbase-probe: waits until an HBase Thrift2 server answers real calls. Used by
// scripts/hbase-local.sh for readiness (an open port is not enough: the master must have
// finished initialising before admin and data calls work).
//   pm-hbase-probe --host 127.0.0.1 --port 9090 [--timeout 120] [--compact] [--framed]
//                  [--http] [--tls [--tls-ca CA.pem] [--tls-cert C.pem --tls-key K.pem]]
// --http: the server's HTTP mode; --tls: HTTPS (the server's certificate verified against
// --tls-ca, or the system trust store, and --host). Exit 0 when ready, 1 on timeout (with
// the last error) or at once when TLS refuses the server, 2 on bad arguments.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "connection.h"
#include "retry.h"
#include "tls.h"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 9090;
  int timeout_s = 120;
  pm::HBaseClientOptions o;
  bool transport_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--compact") {
      o.protocol = pm::HBaseClientOptions::Protocol::kCompact;
    } else if (a == "--framed") {
      o.transport = pm::HBaseClientOptions::Transport::kFramed;
      transport_given = true;
    } else if (a == "--http") {
      o.transport = pm::HBaseClientOptions::Transport::kHttp;
      transport_given = true;
    } else if (a == "--tls") {
      o.tls = true;
    } else if (a == "--tls-ca" && has_value) {
      o.tls_files.ca = argv[++i];
    } else if (a == "--tls-cert" && has_value) {
      o.tls_files.cert = argv[++i];
    } else if (a == "--tls-key" && has_value) {
      o.tls_files.key = argv[++i];
    } else if (a == "--host" && has_value) {
      host = argv[++i];
    } else if (a == "--port" && has_value) {
      port = std::atoi(argv[++i]);
    } else if (a == "--timeout" && has_value) {
      timeout_s = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: pm-hbase-probe --host H --port P [--timeout S] [--compact] [--framed]\n"
                   "       [--http] [--tls [--tls-ca CA] [--tls-cert CERT --tls-key KEY]]\n");
      return 2;
    }
  }
  // As for hbase+tls:// URLs: HBase serves TLS only in its HTTP mode.
  if (o.tls && !transport_given) o.transport = pm::HBaseClientOptions::Transport::kHttp;
  std::unique_ptr<pm::hbase::TlsContext> tls;
  o.connect_timeout_ms = 2000;
  o.io_timeout_ms = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  std::string last = "no attempt";
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (o.tls && !tls) tls = std::make_unique<pm::hbase::TlsContext>(host, o.tls_files);
      pm::hbase::Connection c(host, port, o, tls.get());
      if (c.client().getThriftServerType() != pm::hbase::gen::TThriftServerType::TWO) {
        std::fprintf(stderr, "pm-hbase-probe: %s:%d is a Thrift1 server\n", host.c_str(), port);
        return 1;
      }
      std::vector<pm::hbase::gen::TTableName> names;
      c.client().getTableNamesByNamespace(names, "default");
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "pm-hbase-probe: %s:%d ready after %.1fs (%zu tables in default)\n",
                   host.c_str(), port, s, names.size());
      return 0;
    } catch (const pm::hbase::TlsError& e) {
      // Waiting will not make a refused certificate acceptable.
      std::fprintf(stderr, "pm-hbase-probe: %s:%d: %s\n", host.c_str(), port, e.what());
      return 1;
    } catch (...) {
      pm::hbase::is_retryable(std::current_exception(), &last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::fprintf(stderr, "pm-hbase-probe: %s:%d not ready after %ds: %s\n", host.c_str(), port,
               timeout_s, last.c_str());
  return 1;
}
