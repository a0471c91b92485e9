// pm-hbase-probe: waits until an HBase Thrift2 server answers real calls. Used by
// scripts/hbase-local.sh for readiness (an open port is not enough: the master must have
// finished initialising before admin and data calls work).
//   pm-hbase-probe --host 127.0.0.1 --port 9090 [--timeout 120] [--compact] [--framed]
// Exit 0 when ready, 1 on timeout (with the last error), 2 on bad arguments.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "connection.h"
#include "retry.h"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 9090;
  int timeout_s = 120;
  pm::HBaseClientOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--compact") {
      o.protocol = pm::HBaseClientOptions::Protocol::kCompact;
    } else if (a == "--framed") {
      o.transport = pm::HBaseClientOptions::Transport::kFramed;
    } else if (a == "--host" && has_value) {
      host = argv[++i];
    } else if (a == "--port" && has_value) {
      port = std::atoi(argv[++i]);
    } else if (a == "--timeout" && has_value) {
      timeout_s = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: pm-hbase-probe --host H --port P [--timeout S] [--compact] [--framed]\n");
      return 2;
    }
  }
  o.connect_timeout_ms = 2000;
  o.io_timeout_ms = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  std::string last = "no attempt";
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      pm::hbase::Connection c(host, port, o);
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
    } catch (...) {
      pm::hbase::is_retryable(std::current_exception(), &last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::fprintf(stderr, "pm-hbase-probe: %s:%d not ready after %ds: %s\n", host.c_str(), port,
               timeout_s, last.c_str());
  return 1;
}
