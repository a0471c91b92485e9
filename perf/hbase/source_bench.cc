// HBase source throughput: rows/s and MB/s of pm::Source (planned splits, N reader threads
// claiming splits, as `extract --scanners N` does on one rank; no decode, no inference)
// against one plain sequential Thrift scanner over the same table.
//   pm-hbase-source-bench --url hbase://127.0.0.1:PORT/TABLE [--rows 20000]
//       [--value-bytes 65536] [--regions 8] [--scanners 1,2,4,8] [--repeat 3] [--pages 1]
// --pages 1 also measures the stateless-pages design (getScannerResults per call).
// Loads the table first when it does not exist (random values, uniform keys).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "retry.h"

namespace {

using clock_type = std::chrono::steady_clock;

struct Sample {
  double seconds = 0;
  std::int64_t rows = 0, bytes = 0;
};

std::string key_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "img/%08d", static_cast<int>((i * 2654435761u) % 100000000u));
  return buf;
}

void load(const pm::HBaseUrl& url, int rows, int value_bytes, int regions) {
  std::vector<std::string> splits;
  for (int r = 1; r < regions; ++r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "img/%08d", 100000000 / regions * r);
    splits.push_back(buf);
  }
  if (!pm::hbase_create_table_if_missing(url, {"f"}, splits)) return;
  std::printf("loading %d rows of %d bytes into %s (%d regions)\n", rows, value_bytes,
              url.str().c_str(), regions);
  pm::HBaseWriterOptions wo;
  wo.url = url;
  pm::HBasePutWriter w(wo);
  std::mt19937 rng(1);
  std::string value(static_cast<std::size_t>(value_bytes), '\0');
  for (int i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < value.size(); j += 4) value[j] = static_cast<char>(rng());
    w.add({key_of(i), "f", "img", value});
  }
  w.flush();
}

// The peer: one server-side scanner over the whole table, 64 rows per call.
Sample plain_scan(const pm::HBaseUrl& url) {
  pm::hbase::Connection c(url.host, url.port, {});
  pm::hbase::gen::TScan scan;
  pm::hbase::gen::TColumn col;
  col.family = "f";
  col.__set_qualifier("img");
  scan.__set_columns({col});
  scan.__set_caching(64);
  Sample s;
  const auto t0 = clock_type::now();
  const auto id = c.client().openScanner(url.table, scan);
  for (;;) {
    std::vector<pm::hbase::gen::TResult> rows;
    c.client().getScannerRows(rows, id, 64);
    if (rows.empty()) break;
    for (const auto& r : rows) {
      ++s.rows;
      for (const auto& cv : r.columnValues) s.bytes += static_cast<std::int64_t>(cv.value.size());
    }
  }
  c.client().closeScanner(id);
  s.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return s;
}

Sample source_scan(const pm::HBaseUrl& url, int scanners, bool pages) {
  pm::HBaseSourceOptions o;
  o.url = url;
  o.stateless_pages = pages;
  o.column = {"f", "img"};
  o.report_missing = false;
  o.min_splits = 4 * scanners;
  auto src = pm::make_hbase_source(o);
  const auto t0 = clock_type::now();
  const auto plan = src->plan();
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> rows{0}, bytes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < scanners; ++t)
    threads.emplace_back([&] {
      for (std::size_t i; (i = next++) < plan.size();)
        src->read_split(plan[i], [&](pm::Record&& r) {
          ++rows;
          bytes += static_cast<std::int64_t>(r.bytes.size());
          return true;
        });
    });
  for (auto& t : threads) t.join();
  Sample s;
  s.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  s.rows = rows;
  s.bytes = bytes;
  return s;
}

void report(const char* name, std::vector<Sample> v, double base_mbps) {
  std::sort(v.begin(), v.end(), [](const Sample& a, const Sample& b) { return a.seconds < b.seconds; });
  auto mbps = [](const Sample& s) { return s.bytes / 1e6 / s.seconds; };
  const Sample& med = v[v.size() / 2];
  std::printf("%-22s %8lld rows  %8.0f rows/s  MB/s min %7.1f  median %7.1f  max %7.1f",
              name, static_cast<long long>(med.rows), med.rows / med.seconds, mbps(v.back()),
              mbps(med), mbps(v.front()));
  if (base_mbps > 0) std::printf("  x%.2f vs plain", mbps(med) / base_mbps);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string url_s;
  int rows = 20000, value_bytes = 65536, regions = 8, repeat = 3, pages = 0;
  std::vector<int> scanners{1, 2, 4, 8};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--url") url_s = v;
    else if (a == "--rows") rows = std::atoi(v.c_str());
    else if (a == "--value-bytes") value_bytes = std::atoi(v.c_str());
    else if (a == "--regions") regions = std::atoi(v.c_str());
    else if (a == "--repeat") repeat = std::atoi(v.c_str());
    else if (a == "--pages") pages = std::atoi(v.c_str());
    else if (a == "--scanners") {
      scanners.clear();
      std::stringstream ss(v);
      for (std::string x; std::getline(ss, x, ',');) scanners.push_back(std::atoi(x.c_str()));
    }
  }
  if (url_s.empty()) {
    std::fprintf(stderr, "usage: pm-hbase-source-bench --url hbase://HOST:PORT/TABLE [options]\n");
    return 2;
  }
  try {
    const auto url = pm::parse_hbase_url(url_s);
    load(url, rows, value_bytes, regions);
    plain_scan(url);  // warm-up: JIT on the servers, table in the OS cache
    std::vector<Sample> base;
    for (int r = 0; r < repeat; ++r) base.push_back(plain_scan(url));
    report("plain scanner (1)", base, 0);
    std::sort(base.begin(), base.end(), [](const Sample& a, const Sample& b) { return a.seconds < b.seconds; });
    const double base_mbps = base[base.size() / 2].bytes / 1e6 / base[base.size() / 2].seconds;
    for (int mode = 0; mode <= (pages ? 1 : 0); ++mode) {
      for (int n : scanners) {
        std::vector<Sample> v;
        for (int r = 0; r < repeat; ++r) v.push_back(source_scan(url, n, mode == 1));
        const std::string name =
            std::string(mode ? "pages" : "pm::Source") + " scanners=" + std::to_string(n);
        report(name.c_str(), v, base_mbps);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pm-hbase-source-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
