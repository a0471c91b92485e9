// pm-hbase-probe: waits until an HBase Thrift2 server answers real calls. Used by
// scripts/hbase-local.sh for readiness (an open port is not enough: the master must have
// finished initialising before admin and data calls work).
//   pm-hbase-probe --host 127.0.0.1 --port 9090 [--timeout 120]
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
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--timeout")) timeout_s = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: pm-hbase-probe --host H --port P [--timeout S]\n");
      return 2;
    }
  }
  pm::HBaseClientOptions o;
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
