// Against a real HBase (CTest fixture hbase_server): regions, binary and long keys,
// missing/empty cells, concurrent readers, a Thrift server restart mid-scan, write-back.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "hbase_env.h"
#include "pixelmill/error.h"
#include "planner.h"
#include "retry.h"

namespace pm::hbase {
namespace {

using testing::url_for;

struct Expected {
  std::string value;
  StatusCode code = StatusCode::kOk;
};

// 4 regions (split keys g, n, t), ~600 rows: printable keys in every region, keys with
// 0x00 and 0xFF bytes, keys of several KB, rows without the image cell (another column
// only) and rows with an empty image cell.
class HBaseTable : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    url_ = url_for("pm_it_scan");
    hbase_drop_table(url_);
    ASSERT_TRUE(hbase_create_table_if_missing(url_, {"f"}, {"t", "g", "n"}));
    std::mt19937 rng(42);
    auto value = [&](std::size_t n) {
      std::string v(n, '\0');
      for (auto& c : v) c = static_cast<char>(rng());
      return v;
    };
    HBaseWriterOptions wo;
    wo.url = url_;
    wo.max_rows_per_call = 50;
    HBasePutWriter w(wo);
    auto put = [&](const std::string& key, const Expected& e) {
      rows_[key] = e;
      if (e.code == StatusCode::kMissing) {
        w.add({key, "f", "other", "metadata"});
      } else {
        w.add({key, "f", "img", e.value});
        w.add({key, "f", "zzz", "after the image column"});
      }
    };
    const char* prefixes[] = {"a", "h", "p", "u", "z"};
    for (int i = 0; i < 500; ++i) {
      const std::string key = std::string(prefixes[i % 5]) + "/img" + std::to_string(100000 + i);
      put(key, {value(50 + rng() % 3000), StatusCode::kOk});
    }
    // Binary keys: 0x00 and 0xFF in several positions, one region boundary neighbour.
    put(std::string("\0", 1), {value(10), StatusCode::kOk});
    put(std::string("\0\0\xff", 3), {value(10), StatusCode::kOk});
    put(std::string("g\0", 2), {value(10), StatusCode::kOk});
    put(std::string("f\xff\xff", 3), {value(10), StatusCode::kOk});
    put(std::string("\xff", 1), {value(10), StatusCode::kOk});
    put(std::string("\xff\xff\xff\x00\x01", 5), {value(10), StatusCode::kOk});
    put(std::string("n\x00\xff", 3), {value(10), StatusCode::kOk});
    // Long keys: 3 KB and 8 KB.
    put(std::string(3000, 'k') + "end", {value(100), StatusCode::kOk});
    put("q" + std::string(8192, '\xfe'), {value(100), StatusCode::kOk});
    // Missing and empty cells.
    for (int i = 0; i < 7; ++i) put("m/missing" + std::to_string(i), {"", StatusCode::kMissing});
    for (int i = 0; i < 5; ++i) put("e/empty" + std::to_string(i), {"", StatusCode::kEmpty});
    w.flush();
  }

  static HBaseSourceOptions source_options() {
    HBaseSourceOptions o;
    o.url = url_;
    o.column = {"f", "img"};
    return o;
  }

  // Reads the whole plan with `readers` threads claiming splits from a shared counter, as
  // the pipeline does; returns records per split.
  static std::vector<std::vector<Record>> read_all(Source& src, int readers,
                                                   std::vector<SplitSpec>* plan_out = nullptr) {
    const auto plan = src.plan();
    if (plan_out) *plan_out = plan;
    std::vector<std::vector<Record>> out(plan.size());
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    std::mutex err_mu;
    std::string err;
    for (int t = 0; t < readers; ++t) {
      threads.emplace_back([&] {
        for (std::size_t i; (i = next++) < plan.size();) {
          try {
            src.read_split(plan[i], [&](Record&& r) {
              out[i].push_back(std::move(r));
              return true;
            });
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(err_mu);
            err = e.what();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(err, "");
    return out;
  }

  // Every expected row exactly once, with its value and status; keys ascending per split
  // and splits in key order.
  static void check_exactly_once(const std::vector<std::vector<Record>>& got,
                                 const std::map<std::string, Expected>& want) {
    std::map<std::string, int> seen;
    std::string prev;
    bool first = true;
    for (const auto& split : got) {
      for (const auto& r : split) {
        if (!first) {
          EXPECT_LT(prev, r.key) << "out of order: " << printable_key(r.key);
        }
        prev = r.key;
        first = false;
        ++seen[r.key];
        const auto it = want.find(r.key);
        if (it == want.end()) {
          ADD_FAILURE() << "unexpected row " << printable_key(r.key);
          continue;
        }
        EXPECT_EQ(r.status.code, it->second.code) << printable_key(r.key) << " " << r.status.message;
        if (it->second.code == StatusCode::kOk) {
          EXPECT_EQ(r.bytes, it->second.value) << printable_key(r.key);
          EXPECT_GT(r.timestamp, 0);
        }
      }
    }
    EXPECT_EQ(seen.size(), want.size());
    for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << printable_key(k);
  }

  static HBaseUrl url_;
  static std::map<std::string, Expected> rows_;
};
HBaseUrl HBaseTable::url_;
std::map<std::string, Expected> HBaseTable::rows_;

TEST_F(HBaseTable, FourRegionsFromSplitKeys) {
  const auto regions = region_ranges(source_options());
  ASSERT_EQ(regions.size(), 4u);
  EXPECT_EQ(regions[0].range.start, "");
  EXPECT_EQ(regions[0].range.stop, "g");
  EXPECT_EQ(regions[1].range.start, "g");
  EXPECT_EQ(regions[1].range.stop, "n");
  EXPECT_EQ(regions[2].range.stop, "t");
  EXPECT_EQ(regions[3].range.start, "t");
  EXPECT_EQ(regions[3].range.stop, "");
}

TEST_F(HBaseTable, PlanCoversTheKeySpaceInOrder) {
  auto o = source_options();
  o.splits_per_region = 3;
  auto src = make_hbase_source(o);
  const auto plan = src->plan();
  ASSERT_GE(plan.size(), 4u);
  EXPECT_EQ(plan.front().start, "");
  EXPECT_EQ(plan.back().stop, "");
  for (std::size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].index, i);
    if (i > 0) {
      EXPECT_EQ(plan[i].start, plan[i - 1].stop);
    }
    if (!plan[i].stop.empty()) {
      EXPECT_LT(plan[i].start, plan[i].stop);
    }
  }
}

TEST_F(HBaseTable, EveryRowOnceWithOneTwoThreeReaders) {
  for (int readers = 1; readers <= 3; ++readers) {
    SCOPED_TRACE("readers=" + std::to_string(readers));
    auto src = make_hbase_source(source_options());
    check_exactly_once(read_all(*src, readers), rows_);
  }
}

TEST_F(HBaseTable, StatelessPagesAndSmallCalls) {
  auto o = source_options();
  o.stateless_pages = true;
  o.rows_per_call = 7;
  auto src = make_hbase_source(o);
  check_exactly_once(read_all(*src, 2), rows_);
  o.stateless_pages = false;
  o.rows_per_call = 1;
  o.splits_per_region = 1;
  src = make_hbase_source(o);
  check_exactly_once(read_all(*src, 3), rows_);
}

TEST_F(HBaseTable, BytesPerCallBoundStillReadsEverything) {
  auto o = source_options();
  o.bytes_per_call = 1;  // one row per call once sizes are known
  o.splits_per_region = 1;
  auto src = make_hbase_source(o);
  check_exactly_once(read_all(*src, 3), rows_);
}

TEST_F(HBaseTable, CompactProtocolIsRefusedByABinaryServer) {
  // The server runs TBinaryProtocol; a compact client must fail with a clear error rather
  // than hang or read garbage.
  auto o = source_options();
  o.client.protocol = HBaseClientOptions::Protocol::kCompact;
  o.client.io_timeout_ms = 5000;
  o.retry.max_attempts = 2;
  auto src = make_hbase_source(o);
  EXPECT_THROW(src->plan(), Error);
}

// A second Thrift2 server started with -c -f (compact protocol, framed transport): the
// client speaks it when told to, and reads the same rows.
TEST_F(HBaseTable, CompactFramedServer) {
  const char* script = std::getenv("PM_HBASE_SCRIPT");
  ASSERT_NE(script, nullptr);
  FILE* p = ::popen((std::string("bash ") + script + " thrift compact_framed -c -f").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[256] = {0};
  std::string endpoint;
  while (std::fgets(line, sizeof line, p)) endpoint = line;
  ASSERT_EQ(::pclose(p), 0);
  while (!endpoint.empty() && (endpoint.back() == '\n' || endpoint.back() == '\r')) endpoint.pop_back();
  auto o = source_options();
  o.url = parse_hbase_url(endpoint + "/pm_it_scan");
  o.client.protocol = HBaseClientOptions::Protocol::kCompact;
  o.client.transport = HBaseClientOptions::Transport::kFramed;
  check_exactly_once(read_all(*make_hbase_source(o), 2), rows_);
  // The same through URL options.
  o = source_options();
  o.url = parse_hbase_url(endpoint + "/pm_it_scan?protocol=compact&transport=framed&pages=1");
  check_exactly_once(read_all(*make_hbase_source(o), 2), rows_);
}

TEST_F(HBaseTable, RowRangeIsClipped) {
  auto o = source_options();
  o.start_row = "h";
  o.stop_row = "q";
  std::map<std::string, Expected> want;
  for (const auto& [k, e] : rows_)
    if (k >= o.start_row && k < o.stop_row) want[k] = e;
  auto src = make_hbase_source(o);
  std::vector<SplitSpec> plan;
  check_exactly_once(read_all(*src, 2, &plan), want);
  EXPECT_EQ(plan.front().start, "h");
  EXPECT_EQ(plan.back().stop, "q");
}

TEST_F(HBaseTable, MissingTableOrFamilyFailsAtPlan) {
  auto o = source_options();
  o.url = url_for("pm_it_no_such_table");
  try {
    make_hbase_source(o)->plan();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  o = source_options();
  o.column = {"nofamily", "img"};
  try {
    make_hbase_source(o)->plan();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no column family 'nofamily'"), std::string::npos) << e.what();
  }
}

TEST_F(HBaseTable, EarlyStopFromEmit) {
  auto src = make_hbase_source(source_options());
  src->plan();
  int n = 0;
  src->read_split(SplitSpec{}, [&](Record&&) { return ++n < 3; });  // the whole table
  EXPECT_EQ(n, 3);
}

// HBase errors that retrying cannot fix (TIOError canRetry=false, here a disabled table)
// fail at once, without spending the retry budget.
TEST(HBaseErrors, DisabledTableFailsWithoutRetries) {
  const auto url = url_for("pm_it_disabled");
  hbase_drop_table(url);
  ASSERT_TRUE(hbase_create_table_if_missing(url, {"f"}, {}));
  HBaseSourceOptions o;
  o.url = url;
  o.retry.max_attempts = 1000;  // would take hours if this were retried
  auto src = make_hbase_source(o);
  const auto plan = src->plan();
  {
    Session s(url, {});
    with_retries(s, {}, "disableTable", [&](auto& c) { c.disableTable(table_name(url.table)); });
  }
  try {
    src->read_split(plan.front(), [](Record&&) { return true; });
    FAIL() << "reading a disabled table should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("TIOError"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("gave up"), std::string::npos) << e.what();
  }
  hbase_drop_table(url);
}

TEST(HBaseTimeRange, SinceUntilSelectCellVersions) {
  const auto url = url_for("pm_it_time");
  hbase_drop_table(url);
  ASSERT_TRUE(hbase_create_table_if_missing(url, {"f"}, {}));
  for (std::int64_t ts : {1000, 2000, 3000}) {
    HBaseWriterOptions wo;
    wo.url = url;
    wo.timestamp_ms = ts;
    HBasePutWriter w(wo);
    for (int i = 0; i < 5; ++i)
      w.add({"row" + std::to_string(ts) + "_" + std::to_string(i), "f", "img", "v" + std::to_string(ts)});
    w.flush();
  }
  HBaseSourceOptions o;
  o.url = url;
  o.since_ms = 2000;
  o.until_ms = 3000;
  auto src = make_hbase_source(o);
  std::vector<Record> got;
  for (const auto& sp : src->plan())
    src->read_split(sp, [&](Record&& r) {
      got.push_back(std::move(r));
      return true;
    });
  ASSERT_EQ(got.size(), 5u);
  for (const auto& r : got) {
    EXPECT_EQ(r.bytes, "v2000");
    EXPECT_EQ(r.timestamp, 2000);
  }
  hbase_drop_table(url);
}

// The Thrift server is killed (SIGKILL) in the middle of a scan and started again by
// hbase-local.sh; the scan must finish with every row exactly once.

class HBaseRestart : public HBaseTable {};

TEST_F(HBaseRestart, ThriftKilledAndRestartedMidScan) {
  for (bool pages : {false, true}) {
    SCOPED_TRACE(pages ? "stateless pages" : "server-side scanner");
    auto o = source_options();
    o.stateless_pages = pages;
    o.rows_per_call = 10;
    o.splits_per_region = 1;
    o.retry.max_attempts = 40;  // a restart takes ~5-20 s here
    auto src = make_hbase_source(o);
    const auto plan = src->plan();
    std::vector<std::vector<Record>> got(plan.size());
    std::thread restarter;
    std::atomic<bool> killed{false};
    std::atomic<std::size_t> next{0};
    std::atomic<int> total{0};
    std::vector<std::thread> readers;
    std::string err;
    std::mutex mu;
    for (int t = 0; t < 2; ++t) {
      readers.emplace_back([&] {
        for (std::size_t i; (i = next++) < plan.size();) {
          try {
            src->read_split(plan[i], [&](Record&& r) {
              got[i].push_back(std::move(r));
              if (++total == 100 && !killed.exchange(true)) {
                std::ifstream pidf(testing::home() + "/thrift.pid");
                int pid = 0;
                pidf >> pid;
                EXPECT_GT(pid, 0);
                if (pid > 0) ::kill(pid, SIGKILL);
                restarter = std::thread([] {
                  const char* script = std::getenv("PM_HBASE_SCRIPT");
                  ASSERT_NE(script, nullptr);
                  EXPECT_EQ(std::system((std::string("bash ") + script + " start >/dev/null").c_str()), 0);
                });
              }
              return true;
            });
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(mu);
            err = e.what();
          }
        }
      });
    }
    for (auto& t : readers) t.join();
    if (restarter.joinable()) restarter.join();
    EXPECT_TRUE(killed.load());
    EXPECT_EQ(err, "");
    check_exactly_once(got, rows_);
  }
}

// Rows of 300 KB with a 1 MiB client message limit: every row arrives once and whole.
// (Observed with libthrift 0.17: the binary protocol does not count string bytes against
// the message budget, so the limit does not trip here; if a transport does trip it, the
// reader halves its rows per call and retries.)
TEST(HBaseLimits, LargeRowsWithASmallMessageLimit) {
  const auto url = url_for("pm_it_big");
  hbase_drop_table(url);
  ASSERT_TRUE(hbase_create_table_if_missing(url, {"f"}, {}));
  std::map<std::string, std::string> want;
  {
    HBaseWriterOptions wo;
    wo.url = url;
    HBasePutWriter w(wo);
    for (int i = 0; i < 24; ++i) {
      std::string v(300 * 1024, static_cast<char>('a' + i));
      want["big" + std::to_string(100 + i)] = v;
      w.add({"big" + std::to_string(100 + i), "f", "img", v});
    }
    w.flush();
  }
  HBaseSourceOptions o;
  o.url = url;
  o.client.max_message_bytes = 1 << 20;  // 1 MiB: 8 rows of 300 KB do not fit
  o.client.max_frame_bytes = 1 << 20;
  o.splits_per_region = 1;
  auto src = make_hbase_source(o);
  std::map<std::string, std::string> got;
  for (const auto& sp : src->plan())
    src->read_split(sp, [&](Record&& r) {
      EXPECT_TRUE(got.emplace(r.key, r.bytes).second) << r.key;
      return true;
    });
  EXPECT_EQ(got, want);
  hbase_drop_table(url);
}

TEST(HBaseWriteBack, EmbeddingsReadBackEqual) {
  const auto url = url_for("pm_it_writeback");
  hbase_drop_table(url);
  ASSERT_TRUE(hbase_create_table_if_missing(url, {"f", "e"}, {"k"}));
  std::vector<ImageResult> rows;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (int i = 0; i < 300; ++i) {
    ImageResult r;
    r.key = (i % 2 ? "z" : "a") + std::to_string(i) + std::string(1, '\0');
    if (i % 10 == 3) {
      r.status = Status::error(StatusCode::kCorrupt, "bad jpeg");
    } else {
      r.embedding.resize(512);
      for (auto& x : r.embedding) x = nd(rng);
    }
    rows.push_back(std::move(r));
  }
  HBaseEmbeddingWriterOptions wo;
  wo.writer.url = url;
  wo.writer.max_rows_per_call = 64;
  wo.column = {"e", "emb"};
  wo.model_sha256 = "0123abcd";
  {
    HBaseEmbeddingWriter w(wo);
    w.write({rows.begin(), rows.begin() + 100});
    w.write({rows.begin() + 100, rows.end()});
    w.flush();
    EXPECT_EQ(w.rows_written(), 300);
    // Written again (a retried job): same timestamps would be idempotent; a new writer
    // writes a new version, which the reader sees as the latest.
  }
  // Read back through the source: the embedding column and the header column.
  for (const std::string q : {"emb", "emb.header"}) {
    HBaseSourceOptions o;
    o.url = url;
    o.column = {"e", q};
    auto src = make_hbase_source(o);
    std::map<std::string, Record> got;
    for (const auto& sp : src->plan())
      src->read_split(sp, [&](Record&& r) {
        got[r.key] = std::move(r);
        return true;
      });
    ASSERT_EQ(got.size(), rows.size());
    for (const auto& r : rows) {
      const auto& g = got.at(r.key);
      if (q == "emb") {
        if (r.status.is_ok()) {
          ASSERT_EQ(g.status.code, StatusCode::kOk);
          EXPECT_EQ(hbase_decode_embedding(g.bytes), r.embedding);
        } else {
          EXPECT_EQ(g.status.code, StatusCode::kMissing);
        }
      } else {
        EXPECT_EQ(g.bytes, hbase_embedding_header(r.status.is_ok() ? 512 : 0, "0123abcd",
                                                  std::string(status_name(r.status.code))));
      }
    }
  }
  // A family that does not exist is refused up front.
  wo.column = {"nofamily", "emb"};
  EXPECT_THROW(HBaseEmbeddingWriter{wo}, Error);
  hbase_drop_table(url);
}

// The dedup write-back: a chunk that fails names its rows (file row ids and keys) and the
// table. The table is recreated without the writer's family under it: the server refuses
// the puts at once (NoSuchColumnFamilyException is final; a disabled table would make the
// server's own client retry for minutes).
TEST(HBaseWriteBack, DedupChunkFailureNamesItsRows) {
  const auto url = url_for("pm_it_dedup_fail");
  hbase_drop_table(url);
  ASSERT_TRUE(hbase_create_table_if_missing(url, {"f"}, {}));
  DedupRows rows;
  rows.first_row = 10;
  rows.threshold = 0.5;
  for (int i = 0; i < 5; ++i) {
    rows.key.push_back("k" + std::string(1, '\0') + static_cast<char>('a' + i));
    rows.group.push_back(10);
    rows.exact_group.push_back(10 + i);
    rows.group_key.push_back(rows.key.front());
    rows.exact_group_key.push_back(rows.key.back());
    rows.pairs.push_back(i == 0 ? 0 : 1);
    rows.best_score.push_back(0.75f);
  }
  HBaseDedupWriterOptions wo;
  wo.writer.url = url;
  wo.rows_per_chunk = 2;
  wo.writer.retry.max_attempts = 2;
  {
    HBaseDedupWriter w(wo);
    w.write(rows);
    EXPECT_EQ(w.rows_written(), 5);
    hbase_drop_table(url);
    ASSERT_TRUE(hbase_create_table_if_missing(url, {"g"}, {}));
    try {
      w.write(rows);
      FAIL() << "writing to a table without the family should throw";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("rows 10..11"), std::string::npos) << m;
      EXPECT_NE(m.find("'k\\x00a' .. 'k\\x00b'"), std::string::npos) << m;
      EXPECT_NE(m.find(url.str() + " f:dedup.*"), std::string::npos) << m;
    }
    EXPECT_EQ(w.rows_written(), 5);
  }
  hbase_drop_table(url);
  EXPECT_THROW(HBaseDedupWriter{wo}, Error);  // the table is gone: refused up front
}

}  // namespace
}  // namespace pm::hbase
