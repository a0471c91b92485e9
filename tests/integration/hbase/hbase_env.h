// The HBase that the CTest fixture started (scripts/hbase-local.sh with PM_HBASE_HOME set):
// its Thrift endpoint, and helpers to load test tables.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include "pixelmill/hbase.h"

namespace pm::hbase::testing {

inline std::string home() {
  const char* h = std::getenv("PM_HBASE_HOME");
  return h ? h : "/tmp/pixelmill-hbase";
}

inline int thrift_port() {
  std::ifstream in(home() + "/ports");
  int zk = 0, tp = 0;
  in >> zk >> tp;
  return tp;
}

inline HBaseUrl url_for(const std::string& table) {
  HBaseUrl u;
  u.host = "127.0.0.1";
  u.port = thrift_port();
  u.table = table;
  return u;
}

}  // namespace pm::hbase::testing
