// Cells over the limits against a real HBase: a cell over --max-bytes is a too_large
// record (whether or not the client could receive it), a huge cell that is not the image
// does not hide the image, and the rows around them are read exactly once, in order.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "hbase_env.h"
#include "key_range.h"
#include "pixelmill/error.h"
#include "pixelmill/hbase.h"

namespace pm::hbase {
namespace {

using testing::url_for;

constexpr std::int64_t kMaxCell = 200 << 10;  // the test's --max-bytes
// Over the client's string limit (max(--max-bytes, 1 MiB)): libthrift refuses it on its
// length field, so the row is only seen key-only.
const std::string kHuge(3 << 20, 'H');
// Over --max-bytes but under the string limit: received, then refused by the reader.
const std::string kMid(600 << 10, 'M');

struct Want {
  StatusCode code;
  std::string bytes;  // for ok rows
};

class Oversize : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    url_ = url_for("pm_it_oversize");
    hbase_drop_table(url_);
    ASSERT_TRUE(hbase_create_table_if_missing(url_, {"f"}, {"m"}));
    HBaseWriterOptions wo;
    wo.url = url_;
    wo.max_rows_per_call = 4;
    HBasePutWriter w(wo);
    auto image = [&](const std::string& key, const std::string& v, StatusCode code) {
      w.add({key, "f", "img", v});
      want_[key] = {code, code == StatusCode::kOk ? v : ""};
    };
    for (int i = 0; i < 5; ++i)
      image("a/" + std::to_string(i), "small image " + std::to_string(i), StatusCode::kOk);
    image("b/huge", kHuge, StatusCode::kTooLarge);
    image("c/mid", kMid, StatusCode::kTooLarge);
    // "a" sorts before "img": with missing cells reported the scan also asks for the
    // row's first cell, here 3 MiB, which the client cannot receive.
    w.add({"d/big-first-cell", "f", "a", kHuge});
    image("d/big-first-cell", "the image behind a huge cell", StatusCode::kOk);
    w.add({"e/big-cell-no-image", "f", "a", kHuge});
    want_["e/big-cell-no-image"] = {StatusCode::kMissing, ""};
    image("m/after-the-boundary", kHuge, StatusCode::kTooLarge);
    for (int i = 0; i < 5; ++i)
      image("z/" + std::to_string(i), "small image z" + std::to_string(i), StatusCode::kOk);
    w.flush();
  }

  static std::vector<Record> read_all(const HBaseSourceOptions& o) {
    auto src = make_hbase_source(o);
    std::vector<Record> out;
    for (const auto& split : src->plan())
      src->read_split(split, [&](Record&& r) {
        out.push_back(std::move(r));
        return true;
      });
    return out;
  }

  static void check(const std::vector<Record>& got, const std::map<std::string, Want>& want) {
    std::vector<std::string> keys;
    for (const auto& r : got) {
      keys.push_back(r.key);
      const auto it = want.find(r.key);
      if (it == want.end()) {
        ADD_FAILURE() << "unexpected row " << printable_key(r.key);
        continue;
      }
      EXPECT_EQ(r.status.code, it->second.code) << r.key << ": " << r.status.message;
      EXPECT_EQ(r.bytes, it->second.bytes) << r.key;
      if (r.status.code == StatusCode::kTooLarge) {
        EXPECT_NE(r.status.message.find("over the limit of 204800 (--max-bytes)"), std::string::npos)
            << r.status.message;
        EXPECT_GT(r.timestamp, 0) << r.key;
      }
    }
    std::vector<std::string> want_keys;
    for (const auto& [k, w] : want) want_keys.push_back(k);
    EXPECT_EQ(keys, want_keys) << "every row once, in key order";
  }

  static HBaseSourceOptions options() {
    HBaseSourceOptions o;
    o.url = url_;
    o.column = {"f", "img"};
    o.max_cell_bytes = kMaxCell;
    o.retry.max_attempts = 3;  // an oversized row must not need the retry budget at all
    return o;
  }

  static HBaseUrl url_;
  static std::map<std::string, Want> want_;
};
HBaseUrl Oversize::url_;
std::map<std::string, Want> Oversize::want_;

TEST_F(Oversize, ServerSideScanner) { check(read_all(options()), want_); }

TEST_F(Oversize, StatelessPages) {
  auto o = options();
  o.stateless_pages = true;
  check(read_all(o), want_);
}

TEST_F(Oversize, OneSplitManyRowsPerCall) {
  // The huge rows sit inside one call's rows: the rows before them come first.
  auto o = options();
  o.splits_per_region = 1;
  o.rows_per_call = 1000;
  check(read_all(o), want_);
}

TEST_F(Oversize, OnlyTheImageColumnWithoutMissingRows) {
  // report_missing off: the scan asks for the image cell only; the huge other cells are
  // never requested, and the row without an image does not appear.
  auto o = options();
  o.report_missing = false;
  auto want = want_;
  want.erase("e/big-cell-no-image");
  check(read_all(o), want);
}

}  // namespace
}  // namespace pm::hbase
