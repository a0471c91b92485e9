// Every URL option's range, through the two public entry points that read a URL: the
// writer's hbase_client_options and the source's make_hbase_source. No server needed:
// a bad option must fail before any connection.
#include <gtest/gtest.h>

#include <string>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"

namespace pm {
namespace {

// The message of the pm::Error that `f` throws ("" when it does not throw).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string client_error(const std::string& query) {
  return error_of([&] { hbase_client_options(parse_hbase_url("hbase://h:1/t?" + query)); });
}

std::string source_error(const std::string& query) {
  return error_of([&] {
    HBaseSourceOptions o;
    o.url = parse_hbase_url("hbase://h:1/t?" + query);
    make_hbase_source(o);
  });
}

TEST(UrlOptions, TimeoutMustBePositiveAndBounded) {
  // 0 meant "no timeout" to libthrift; a value past INT_MAX wrapped to a negative one,
  // which TSocket ignores (no timeout either).
  for (const std::string bad : {"0", "-5", "", "5x", "+5", " 5", "3600001", "99999999999",
                                "4294967296000"}) {
    const std::string q = "timeout_ms=" + bad;
    EXPECT_NE(client_error(q).find("timeout_ms"), std::string::npos) << q;
    EXPECT_NE(client_error(q).find("1..3600000"), std::string::npos) << client_error(q);
    EXPECT_NE(source_error(q).find("timeout_ms"), std::string::npos) << q;
  }
  EXPECT_EQ(hbase_client_options(parse_hbase_url("hbase://h:1/t?timeout_ms=1")).io_timeout_ms, 1);
  EXPECT_EQ(hbase_client_options(parse_hbase_url("hbase://h:1/t?timeout_ms=3600000")).io_timeout_ms,
            3600000);
  EXPECT_EQ(source_error("timeout_ms=3600000"), "");
}

TEST(UrlOptions, ScanKnobsHaveDocumentedBounds) {
  for (const std::string bad : {"0", "1025", "-1", "x", "99999999999"})
    EXPECT_NE(source_error("splits_per_region=" + bad).find("splits_per_region"), std::string::npos)
        << bad;
  EXPECT_NE(source_error("splits_per_region=0").find("1..1024"), std::string::npos);
  EXPECT_EQ(source_error("splits_per_region=1"), "");
  EXPECT_EQ(source_error("splits_per_region=1024"), "");
  for (const std::string bad : {"0", "100001", "-3", "1e3"})
    EXPECT_NE(source_error("rows_per_call=" + bad).find("rows_per_call"), std::string::npos) << bad;
  EXPECT_EQ(source_error("rows_per_call=100000"), "");
  EXPECT_EQ(source_error("rows_per_call=1"), "");
}

TEST(UrlOptions, FlagsAreZeroOrOne) {
  for (const std::string key : {"pages", "report_missing"}) {
    for (const std::string bad : {"2", "-1", "yes", "", "true"})
      EXPECT_NE(source_error(key + "=" + bad).find(key + "=" + bad + " must be 0 or 1"),
                std::string::npos)
          << source_error(key + "=" + bad);
    EXPECT_EQ(source_error(key + "=0"), "");
    EXPECT_EQ(source_error(key + "=1"), "");
  }
}

TEST(UrlOptions, EnumsUnknownKeysAndDuplicates) {
  EXPECT_NE(client_error("protocol=json").find("protocol=json must be binary or compact"),
            std::string::npos);
  EXPECT_NE(client_error("transport=zip").find("transport=zip"), std::string::npos);
  EXPECT_NE(client_error("colour=red").find("unknown option 'colour=red'"), std::string::npos);
  EXPECT_NE(client_error("pages=1&pages=0").find("pages is given twice"), std::string::npos);
  // A writer may reuse the URL its rows were read from: scan knobs are checked, not refused.
  EXPECT_EQ(client_error("pages=1&splits_per_region=8&rows_per_call=64&report_missing=0"), "");
  EXPECT_NE(client_error("splits_per_region=0").find("splits_per_region"), std::string::npos);
}

TEST(UrlOptions, RangesHoldForOptionsSetInCode) {
  HBaseSourceOptions o;
  o.url = parse_hbase_url("hbase://h:1/t");
  o.splits_per_region = 5000;
  EXPECT_NE(error_of([&] { make_hbase_source(o); }).find("splits_per_region=5000"), std::string::npos);
  o.splits_per_region = 4;
  o.rows_per_call = 0;
  EXPECT_NE(error_of([&] { make_hbase_source(o); }).find("rows_per_call=0"), std::string::npos);
  o.rows_per_call = 128;
  o.client.io_timeout_ms = 0;
  EXPECT_NE(error_of([&] { make_hbase_source(o); }).find("timeout_ms=0"), std::string::npos);
}

TEST(UrlOptions, TlsSchemeAndOption) {
  const auto u = parse_hbase_url("hbase+tls://thrift.example:9443/ns:photos");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "thrift.example");
  EXPECT_EQ(u.port, 9443);
  EXPECT_EQ(u.str(), "hbase+tls://thrift.example:9443/ns:photos");
  EXPECT_FALSE(parse_hbase_url("hbase://h:1/t").tls);
  EXPECT_EQ(parse_hbase_url("hbase+tls://[::1]:9/t").str(), "hbase+tls://[::1]:9/t");
  EXPECT_THROW(parse_hbase_url("hbase+ssl://h:1/t"), Error);

  // TLS means HTTP (HBase serves TLS only in its HTTP mode) unless a transport is named,
  // and carries the files given with it.
  TlsFiles files{"/ca.pem", "", ""};
  const auto o = hbase_client_options(u, files);
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.transport, HBaseClientOptions::Transport::kHttp);
  EXPECT_EQ(o.tls_files.ca, "/ca.pem");
  const auto q = hbase_client_options(parse_hbase_url("hbase://h:1/t?tls=1"));
  EXPECT_TRUE(q.tls);
  EXPECT_EQ(q.transport, HBaseClientOptions::Transport::kHttp);
  const auto proxy = hbase_client_options(parse_hbase_url("hbase+tls://h:1/t?transport=framed"));
  EXPECT_TRUE(proxy.tls);
  EXPECT_EQ(proxy.transport, HBaseClientOptions::Transport::kFramed);
  const auto http = hbase_client_options(parse_hbase_url("hbase://h:1/t?transport=http"));
  EXPECT_FALSE(http.tls);
  EXPECT_EQ(http.transport, HBaseClientOptions::Transport::kHttp);
  EXPECT_FALSE(hbase_client_options(parse_hbase_url("hbase://h:1/t?tls=0")).tls);

  EXPECT_NE(error_of([] { hbase_client_options(parse_hbase_url("hbase+tls://h:1/t?tls=0")); })
                .find("tls=0 contradicts the hbase+tls:// scheme"),
            std::string::npos);
  EXPECT_NE(client_error("tls=yes").find("tls=yes must be 0 or 1"), std::string::npos);
  EXPECT_NE(client_error("transport=http&protocol=compact").find("binary protocol only"),
            std::string::npos);
  EXPECT_NE(error_of([] { hbase_client_options(parse_hbase_url("hbase+tls://h:1/t?protocol=compact")); })
                .find("binary protocol only"),
            std::string::npos);
  // The source reads the same options (and the TLS files of its SourceOptions).
  EXPECT_NE(source_error("tls=2").find("tls=2"), std::string::npos);
  EXPECT_EQ(source_error("tls=1&timeout_ms=500"), "");
}

TEST(UrlOptions, TlsFilesAreCheckedBeforeAnyHandshake) {
  // A client certificate without its key, and a CA file that does not exist: pm::Error
  // from the first call, without a retry (the port is closed: retries would show as a
  // transport error instead).
  HBaseSourceOptions o;
  o.url = parse_hbase_url("hbase+tls://127.0.0.1:1/t");
  o.retry.max_attempts = 5;
  o.retry.backoff_initial_ms = 1;
  o.client.tls_files.cert = "/nonexistent/client.pem";
  std::string e = error_of([&] { make_hbase_source(o)->plan(); });
  EXPECT_NE(e.find("--tls-cert and --tls-key go together"), std::string::npos) << e;
  EXPECT_EQ(e.find("attempts"), std::string::npos) << e;
  o.client.tls_files = {"/nonexistent/ca.pem", "", ""};
  e = error_of([&] { make_hbase_source(o)->plan(); });
  EXPECT_NE(e.find("cannot load the CA certificates of --tls-ca /nonexistent/ca.pem"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("attempts"), std::string::npos) << e;
}

}  // namespace
}  // namespace pm
