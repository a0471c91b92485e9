// pm-hbase-testtool: test helper for the end-to-end tests (rows with binary keys, reading
// a column back). Hex on stdin/stdout keeps binary keys intact through Python.
//   pm-hbase-testtool put URL family:qualifier   < lines "HEXKEY PATH" (PATH "-": a row
//                                                  with only another column -> missing)
//   pm-hbase-testtool dump URL family:qualifier  > lines "HEXKEY HEXVALUE STATUS"
//   pm-hbase-testtool drop URL family:qualifier  drops the table if it exists
//   pm-hbase-testtool regions URL family:qualifier > lines "HEXSTART HEXSTOP" (replica 0)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "planner.h"

namespace {

std::string from_hex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: pm-hbase-testtool put|dump|drop|regions URL family:qualifier\n");
    return 2;
  }
  try {
    const std::string cmd = argv[1];
    const auto url = pm::parse_hbase_url(argv[2]);
    const auto col = pm::parse_hbase_column(argv[3]);
    if (cmd == "put") {
      pm::HBaseWriterOptions wo;
      wo.url = url;
      pm::HBasePutWriter w(wo);
      std::string line;
      while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string hex, path;
        in >> hex >> path;
        if (hex.empty()) continue;
        if (path == "-") {
          w.add({from_hex(hex), col.family, col.qualifier + ".other", "not an image"});
        } else {
          std::ifstream f(path, std::ios::binary);
          std::stringstream buf;
          buf << f.rdbuf();
          if (!f) throw pm::Error("cannot read " + path);
          w.add({from_hex(hex), col.family, col.qualifier, buf.str()});
        }
      }
      w.flush();
      return 0;
    }
    if (cmd == "drop") {
      pm::hbase_drop_table(url);
      return 0;
    }
    if (cmd == "regions") {
      pm::HBaseSourceOptions o;
      o.url = url;
      for (const auto& r : pm::hbase::region_ranges(o))
        std::printf("%s %s\n", to_hex(r.range.start).c_str(), to_hex(r.range.stop).c_str());
      return 0;
    }
    if (cmd == "dump") {
      pm::HBaseSourceOptions o;
      o.url = url;
      o.column = col;
      auto src = pm::make_hbase_source(o);
      for (const auto& split : src->plan())
        src->read_split(split, [](pm::Record&& r) {
          std::printf("%s %s %s\n", to_hex(r.key).c_str(), to_hex(r.bytes).c_str(),
                      std::string(pm::status_name(r.status.code)).c_str());
          return true;
        });
      return 0;
    }
    std::fprintf(stderr, "pm-hbase-testtool: unknown command %s\n", cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pm-hbase-testtool: %s\n", e.what());
    return 1;
  }
}
