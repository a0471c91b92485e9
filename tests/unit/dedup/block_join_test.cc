#include "block_join.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "synthetic.h"

namespace pm::dedup {
namespace {

std::vector<ScoredPair> sorted(std::vector<ScoredPair> v) {
  std::sort(v.begin(), v.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  return v;
}

void expect_same_pairs(const std::vector<ScoredPair>& got, const std::vector<ScoredPair>& want) {
  const auto g = sorted(got);
  const auto w = sorted(want);
  ASSERT_EQ(g.size(), w.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(g[i].a, w[i].a);
    EXPECT_EQ(g[i].b, w[i].b);
    EXPECT_NEAR(g[i].score, w[i].score, 1e-4);
  }
}

struct Block {
  std::vector<float> data;
  std::vector<std::int64_t> ids;
  int dim;
  BlockView view() const { return {data.data(), ids.data(), std::int64_t(ids.size()), dim}; }
};

Block make_block(std::int64_t rows, int dim, std::uint32_t seed, std::int64_t first_id) {
  Block b{testing::clustered_embeddings(rows, dim, seed), std::vector<std::int64_t>(rows), dim};
  std::iota(b.ids.begin(), b.ids.end(), first_id);
  return b;
}

struct Shape {
  std::int64_t rows_a, rows_b, tile;
  int dim;
};

class BlockJoinShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(BlockJoinShapes, SelfJoinMatchesReference) {
  const Shape s = GetParam();
  const Block a = make_block(s.rows_a, s.dim, 11, 100);
  std::vector<ScoredPair> want, got;
  join_reference(a.view(), a.view(), true, 0.8f, want);
  BlockJoiner joiner(s.dim, 0.8f, s.tile);
  joiner.join(a.view(), a.view(), true, got);
  EXPECT_FALSE(want.empty());
  expect_same_pairs(got, want);
  for (const auto& p : got) EXPECT_LT(p.a, p.b);
}

TEST_P(BlockJoinShapes, CrossJoinMatchesReference) {
  const Shape s = GetParam();
  // Block b starts with the same rows as a (copies across blocks) then its own rows.
  Block a = make_block(s.rows_a, s.dim, 5, 0);
  Block b = make_block(s.rows_b, s.dim, 6, 1000000);
  const std::int64_t shared = std::min<std::int64_t>(5, std::min(s.rows_a, s.rows_b));
  std::copy(a.data.begin(), a.data.begin() + shared * s.dim, b.data.begin());
  std::vector<ScoredPair> want, got;
  join_reference(a.view(), b.view(), false, 0.8f, want);
  BlockJoiner joiner(s.dim, 0.8f, s.tile);
  joiner.join(a.view(), b.view(), false, got);
  EXPECT_GE(want.size(), static_cast<std::size_t>(shared));
  expect_same_pairs(got, want);
  EXPECT_DOUBLE_EQ(joiner.flops(), 2.0 * s.rows_a * s.rows_b * s.dim);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BlockJoinShapes,
                         ::testing::Values(Shape{50, 40, 1024, 16}, Shape{300, 257, 64, 32},
                                           Shape{129, 1, 32, 8}, Shape{1000, 700, 256, 512},
                                           Shape{33, 65, 7, 3}));

TEST(BlockJoin, EmptyBlocksGiveNoPairs) {
  const Block a = make_block(10, 8, 1, 0);
  Block empty{{}, {}, 8};
  std::vector<ScoredPair> out;
  BlockJoiner joiner(8, 0.5f, 4);
  joiner.join(a.view(), empty.view(), false, out);
  joiner.join(empty.view(), a.view(), false, out);
  joiner.join(empty.view(), empty.view(), true, out);
  EXPECT_TRUE(out.empty());
}

TEST(BlockJoin, ThresholdIsInclusiveAndDecidedExactly) {
  // Three unit vectors with known cosines: e0.e1 = 0.6 exactly representable pieces.
  const int dim = 2;
  Block b{{1.f, 0.f, 0.6f, 0.8f, 0.f, 1.f}, {0, 1, 2}, dim};
  for (float t : {0.6f, 0.8f}) {
    std::vector<ScoredPair> want, got;
    join_reference(b.view(), b.view(), true, t, want);
    BlockJoiner joiner(dim, t, 2);
    joiner.join(b.view(), b.view(), true, got);
    expect_same_pairs(got, want);
  }
  std::vector<ScoredPair> got;
  BlockJoiner joiner(dim, 0.6f, 1);
  joiner.join(b.view(), b.view(), true, got);
  // (0,1) has cosine 0.6 (kept: >= threshold), (1,2) 0.8, (0,2) 0.
  ASSERT_EQ(sorted(got).size(), 2u);
  EXPECT_EQ(sorted(got)[0], (ScoredPair{0, 1, sorted(got)[0].score}));
}

TEST(BlockJoin, ExactDotIsOrderFixed) {
  std::vector<float> x{1e8f, 1.f, -1e8f}, y{1.f, 1.f, 1.f};
  EXPECT_DOUBLE_EQ(exact_dot(x.data(), y.data(), 3), 1.0);
}

}  // namespace
}  // namespace pm::dedup
