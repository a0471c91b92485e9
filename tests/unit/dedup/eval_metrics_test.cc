#include <gtest/gtest.h>

#include "pixelmill/dedup_eval.h"

namespace pm::eval {
namespace {

EvalSet tiny_set() {
  EvalSet s;
  s.images = {{"s0_original.jpg", 0, "original"}, {"s0_crop.jpg", 0, "crop"},
              {"s0_flip.jpg", 0, "flip"},         {"s1_original.jpg", 1, "original"},
              {"s1_crop.jpg", 1, "crop"},         {"d2_distractor.jpg", 2, "distractor"}};
  return s;
}

TEST(EvalMetrics, PerfectGroupsScoreOne) {
  const EvalSet s = tiny_set();
  std::vector<std::string> keys;
  for (const auto& e : s.images) keys.push_back(e.key);
  const Evaluation ev = evaluate(s, keys, {0, 0, 0, 3, 3, 5});
  EXPECT_EQ(ev.overall.tp, 4);  // 3 pairs in label 0, 1 in label 1
  EXPECT_EQ(ev.overall.fp, 0);
  EXPECT_EQ(ev.overall.fn, 0);
  EXPECT_DOUBLE_EQ(ev.overall.f1(), 1.0);
  EXPECT_EQ(ev.by_transform.at("crop").tp, 2);
  EXPECT_EQ(ev.by_transform.at("flip").tp, 1);
}

TEST(EvalMetrics, MissedAndWrongLinks) {
  const EvalSet s = tiny_set();
  std::vector<std::string> keys;
  for (const auto& e : s.images) keys.push_back(e.key);
  // The flip is missed; the distractor is wrongly grouped with s1.
  const Evaluation ev = evaluate(s, keys, {0, 0, 2, 3, 3, 3});
  EXPECT_EQ(ev.overall.tp, 2);
  EXPECT_EQ(ev.overall.fn, 2);
  EXPECT_EQ(ev.overall.fp, 2);
  EXPECT_DOUBLE_EQ(ev.overall.precision(), 0.5);
  EXPECT_EQ(ev.by_transform.at("flip").fn, 1);
  EXPECT_DOUBLE_EQ(ev.by_transform.at("flip").recall(), 0.0);
  EXPECT_EQ(ev.by_transform.at("crop").fp, 1);  // s1_crop is in a wrong link
  EXPECT_EQ(ev.by_transform.at("distractor").fp, 2);
  const std::string table = format_table({{"embedding", ev}});
  EXPECT_NE(table.find("| flip | 1.000 | 0.000 |"), std::string::npos) << table;
}

TEST(EvalMetrics, GroupsByHammingAndCosine) {
  const std::vector<std::uint64_t> h{0x0, 0x3, 0xF0F0, 0x7};
  const std::vector<std::uint8_t> ok{1, 1, 1, 0};
  EXPECT_EQ(groups_by_hamming(h, ok, 2), (std::vector<std::int64_t>{0, 0, 2, 3}));
  const std::vector<float> e{1, 0, 0.8f, 0.6f, 0, 1, 1, 0};
  EXPECT_EQ(groups_by_cosine(e, 2, ok, 0.7), (std::vector<std::int64_t>{0, 0, 2, 3}));
  EXPECT_EQ(groups_by_cosine(e, 2, ok, 0.9), (std::vector<std::int64_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace pm::eval
