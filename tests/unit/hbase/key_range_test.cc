#include "key_range.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"

namespace pm::hbase {
namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(KeyRange, NextRowIsTheSmallestGreaterKey) {
  EXPECT_EQ(next_row("abc"), std::string("abc\0", 4));
  EXPECT_LT(std::string("abc"), next_row("abc"));
  EXPECT_LT(next_row("abc"), std::string("abc\x01", 4));
  EXPECT_LT(next_row(B({0xff})), B({0xff, 0x01}));
  EXPECT_EQ(next_row(""), std::string(1, '\0'));
}

TEST(KeyRange, StringOrderIsUnsignedBytes) {
  // HBase orders rows as unsigned bytes; std::string must agree for 0x80..0xff.
  EXPECT_LT(B({0x7f}), B({0x80}));
  EXPECT_LT(B({0x00}), B({0xff}));
  EXPECT_LT(B({0x61, 0x00}), B({0x61, 0xff}));
}

TEST(KeyRange, ClipLikeTableInputFormat) {
  // Region [g, n) against ranges.
  EXPECT_EQ(clip({"g", "n"}, {"", ""})->start, "g");
  EXPECT_EQ(clip({"g", "n"}, {"", ""})->stop, "n");
  EXPECT_EQ(clip({"g", "n"}, {"h", ""})->start, "h");
  EXPECT_EQ(clip({"g", "n"}, {"a", "k"})->stop, "k");
  EXPECT_EQ(clip({"g", "n"}, {"a", "k"})->start, "g");
  EXPECT_FALSE(clip({"g", "n"}, {"n", ""}));
  EXPECT_FALSE(clip({"g", "n"}, {"", "g"}));
  EXPECT_FALSE(clip({"g", "n"}, {"p", "z"}));
  // Open-ended regions.
  EXPECT_EQ(clip({"", "g"}, {"", ""})->stop, "g");
  EXPECT_EQ(clip({"t", ""}, {"", "x"})->stop, "x");
  EXPECT_EQ(clip({"t", ""}, {"", ""})->stop, "");
  EXPECT_EQ(clip({"", ""}, {"b", "c"})->start, "b");
}

TEST(KeyRange, CutPointsAreStrictlyInsideAndIncreasing) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    auto rand_key = [&] {
      std::string k(rng() % 12, '\0');
      for (auto& c : k) c = static_cast<char>(rng() % 4 == 0 ? (rng() % 2 ? 0x00 : 0xff) : rng());
      return k;
    };
    std::string lo = rand_key(), hi = rand_key();
    if (lo == hi) continue;
    if (hi < lo) std::swap(lo, hi);
    const int n = 2 + static_cast<int>(rng() % 9);
    const auto cuts = cut_points(lo, hi, n);
    ASSERT_LE(cuts.size(), static_cast<std::size_t>(n - 1));
    std::string prev = lo;
    for (const auto& c : cuts) {
      ASSERT_LT(prev, c);
      ASSERT_LT(c, hi);
      prev = c;
    }
  }
}

TEST(KeyRange, CutPointsSpreadOverPrintableKeys) {
  const auto cuts = cut_points("img/000000", "img/999999", 4);
  ASSERT_EQ(cuts.size(), 3u);
  // All cuts share the common prefix and fall in order between the digits.
  for (const auto& c : cuts) EXPECT_EQ(c.rfind("img/", 0), 0u);
  EXPECT_LT(std::string("img/0"), cuts[0]);
  EXPECT_LT(cuts[2], std::string("img/9"));
}

TEST(KeyRange, NoCutsWhenKeysAreAdjacent) {
  EXPECT_TRUE(cut_points("a", next_row("a"), 4).empty());
  EXPECT_TRUE(cut_points("b", "a", 4).empty());
  EXPECT_TRUE(cut_points("a", "b", 1).empty());
}

TEST(KeyRange, PrintableKey) {
  EXPECT_EQ(printable_key(B({'a', 0x00, 0xff})), "a\\x00\\xff");
  EXPECT_NE(printable_key(std::string(5000, 'k')).find("(5000 bytes)"), std::string::npos);
}

TEST(Url, ParsesHostPortTable) {
  const auto u = parse_hbase_url("hbase://127.0.0.1:9091/images");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 9091);
  EXPECT_EQ(u.table, "images");
  EXPECT_EQ(u.str(), "hbase://127.0.0.1:9091/images");
  const auto d = parse_hbase_url("hbase://hb.example/ns:photos?protocol=compact");
  EXPECT_EQ(d.port, 9090);
  EXPECT_EQ(d.table, "ns:photos");
  EXPECT_EQ(d.query, "protocol=compact");
  const auto v6 = parse_hbase_url("hbase://[::1]:9000/t");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9000);
}

TEST(Url, RejectsMalformed) {
  EXPECT_THROW(parse_hbase_url("http://h:1/t"), Error);
  EXPECT_THROW(parse_hbase_url("hbase://h:1"), Error);
  EXPECT_THROW(parse_hbase_url("hbase://h:1/"), Error);
  EXPECT_THROW(parse_hbase_url("hbase://:1/t"), Error);
  EXPECT_THROW(parse_hbase_url("hbase://h:0/t"), Error);
  EXPECT_THROW(parse_hbase_url("hbase://h:x/t"), Error);
  EXPECT_THROW(parse_hbase_url("hbase://h:1/a/b"), Error);
}

TEST(Url, Column) {
  EXPECT_EQ(parse_hbase_column("f:img").family, "f");
  EXPECT_EQ(parse_hbase_column("f:img").qualifier, "img");
  EXPECT_EQ(parse_hbase_column("f:a:b").qualifier, "a:b");
  EXPECT_EQ(parse_hbase_column("f:").qualifier, "");
  EXPECT_THROW(parse_hbase_column("nofamily"), Error);
  EXPECT_THROW(parse_hbase_column(":q"), Error);
}

TEST(Url, UnescapeKey) {
  EXPECT_EQ(hbase_unescape_key("abc"), "abc");
  EXPECT_EQ(hbase_unescape_key("a\\x00\\xFFb"), B({'a', 0x00, 0xff, 'b'}));
  EXPECT_EQ(hbase_unescape_key("a\\\\b\\,c"), "a\\b,c");
  EXPECT_THROW(hbase_unescape_key("a\\"), Error);
  EXPECT_THROW(hbase_unescape_key("\\x4"), Error);
  EXPECT_THROW(hbase_unescape_key("\\xg0"), Error);
  EXPECT_THROW(hbase_unescape_key("\\n"), Error);
}

TEST(Url, ClientOptionsFromTheQuery) {
  const auto o = hbase_client_options(
      parse_hbase_url("hbase://h:1/t?protocol=compact&transport=framed&timeout_ms=250&pages=1"));
  EXPECT_EQ(o.protocol, HBaseClientOptions::Protocol::kCompact);
  EXPECT_EQ(o.transport, HBaseClientOptions::Transport::kFramed);
  EXPECT_EQ(o.io_timeout_ms, 250);
  const auto d = hbase_client_options(parse_hbase_url("hbase://h:1/t"));
  EXPECT_EQ(d.protocol, HBaseClientOptions::Protocol::kBinary);
  EXPECT_THROW(hbase_client_options(parse_hbase_url("hbase://h:1/t?colour=red")), Error);
  EXPECT_THROW(hbase_client_options(parse_hbase_url("hbase://h:1/t?timeout_ms=x")), Error);
  EXPECT_EQ(hbase_printable_key(B({'k', 0x00})), "k\\x00");
  EXPECT_EQ(hbase_dedup_qualifier("dedup", "group"), "dedup.group");
}

TEST(Source, BadOptionsFailBeforeAnyCall) {
  HBaseSourceOptions o;
  o.url = parse_hbase_url("hbase://127.0.0.1:1/t?nosuch=1");
  EXPECT_THROW(make_hbase_source(o), Error);
  o.url = parse_hbase_url("hbase://127.0.0.1:1/t");
  o.since_ms = 10;
  o.until_ms = 5;
  EXPECT_THROW(make_hbase_source(o), Error);
}

TEST(Source, UnreachableServerIsAClearError) {
  HBaseSourceOptions o;
  o.url = parse_hbase_url("hbase://127.0.0.1:1/t");  // nothing listens on port 1
  o.retry.max_attempts = 2;
  o.retry.backoff_initial_ms = 1;
  auto src = make_hbase_source(o);
  try {
    src->plan();
    FAIL() << "plan() should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
}

TEST(Source, ReadRetryBudgetEndsInAClearError) {
  HBaseSourceOptions o;
  o.url = parse_hbase_url("hbase://127.0.0.1:1/t");
  o.retry.max_attempts = 3;
  o.retry.backoff_initial_ms = 1;
  auto src = make_hbase_source(o);
  try {
    src->read_split(SplitSpec{}, [](Record&&) { return true; });
    FAIL() << "read_split should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gave up after 3 attempts"), std::string::npos) << e.what();
  }
}

TEST(Embedding, LittleEndianRoundTrip) {
  const std::vector<float> v{1.0f, -2.5f, 0.0f, 3.25e-7f};
  const auto bytes = hbase_encode_embedding(v);
  ASSERT_EQ(bytes.size(), 16u);
  // 1.0f = 0x3f800000, little-endian on the wire.
  EXPECT_EQ(bytes.substr(0, 4), B({0x00, 0x00, 0x80, 0x3f}));
  EXPECT_EQ(hbase_decode_embedding(bytes), v);
  EXPECT_THROW(hbase_decode_embedding("abc"), Error);
  EXPECT_EQ(hbase_embedding_header(512, "ab12", "ok"), "dtype=float32;dim=512;model_sha256=ab12;status=ok");
  EXPECT_EQ(hbase_embedding_header_qualifier("emb"), "emb.header");
}

}  // namespace
}  // namespace pm::hbase
