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

}  // namespace
}  // namespace pm
