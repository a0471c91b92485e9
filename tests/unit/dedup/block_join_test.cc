#include "block_join.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "pixelmill/error.h"
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

// bf16: the matmul proposes, exact_dot decides and scores, so pairs and scores are the
// reference's exactly (the reference scores are exact_dot too).
TEST_P(BlockJoinShapes, Bf16SelfAndCrossJoinEqualReferenceExactly) {
  const Shape s = GetParam();
  const Block a = make_block(s.rows_a, s.dim, 21, 0);
  Block b = make_block(s.rows_b, s.dim, 22, 1000000);
  const std::int64_t shared = std::min<std::int64_t>(5, std::min(s.rows_a, s.rows_b));
  std::copy(a.data.begin(), a.data.begin() + shared * s.dim, b.data.begin());
  for (const bool self : {true, false}) {
    const Block& other = self ? a : b;
    std::vector<ScoredPair> want, got;
    join_reference(a.view(), other.view(), self, 0.8f, want);
    BlockJoiner joiner(s.dim, 0.8f, s.tile, JoinPrecision::kBF16);
    joiner.join(a.view(), other.view(), self, got);
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(sorted(got), sorted(want));
    EXPECT_GE(joiner.rechecked(), static_cast<std::int64_t>(want.size()));
  }
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

// Pairs of unit rows whose cosines lie within +-0.004 of the threshold: closer than bf16's
// rounding error, so a decision on the bf16 score alone flips some of them (checked, so
// the data tests what it should); the bf16 joiner flips none.
TEST(BlockJoin, Bf16KeepsEveryPairNearTheThreshold) {
  const int dim = 64;
  const float t = 0.9f;
  const int pairs = 400;
  std::mt19937 rng(7);
  std::normal_distribution<double> gauss;
  std::uniform_real_distribution<double> delta(-0.004, 0.004);
  Block a{{}, {}, dim}, b{{}, {}, dim};
  for (int p = 0; p < pairs; ++p) {
    std::vector<double> x(dim), z(dim);
    for (auto& v : x) v = gauss(rng);
    for (auto& v : z) v = gauss(rng);
    auto normalise = [](std::vector<double>& v) {
      double n = 0;
      for (double e : v) n += e * e;
      for (double& e : v) e /= std::sqrt(n);
    };
    normalise(x);
    double xz = 0;
    for (int k = 0; k < dim; ++k) xz += x[k] * z[k];
    for (int k = 0; k < dim; ++k) z[k] -= xz * x[k];
    normalise(z);
    const double c = t + delta(rng), si = std::sqrt(1 - c * c);
    for (int k = 0; k < dim; ++k) {
      a.data.push_back(static_cast<float>(x[k]));
      b.data.push_back(static_cast<float>(c * x[k] + si * z[k]));
    }
    a.ids.push_back(2 * p);
    b.ids.push_back(2 * p + 1);
  }
  // The flips a bf16-only decision makes on these pairs (its own scores, fp32 sums).
  std::vector<std::uint16_t> a16(a.data.size()), b16(b.data.size());
  to_bf16_rows(a.data.data(), pairs, dim, a16.data());
  to_bf16_rows(b.data.data(), pairs, dim, b16.data());
  auto widen = [](std::uint16_t h) {
    const std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  };
  int flips = 0;
  for (int p = 0; p < pairs; ++p) {
    float s = 0;
    for (int k = 0; k < dim; ++k) s += widen(a16[p * dim + k]) * widen(b16[p * dim + k]);
    const bool exact_keeps = exact_dot(&a.data[p * dim], &b.data[p * dim], dim) >= t;
    if ((s >= t) != exact_keeps) ++flips;
  }
  EXPECT_GT(flips, 0) << "no pair is near enough to the threshold to test the re-check";

  std::vector<ScoredPair> want, got;
  join_reference(a.view(), b.view(), false, t, want);
  BlockJoiner joiner(dim, t, 128, JoinPrecision::kBF16);
  joiner.join(a.view(), b.view(), false, got);
  EXPECT_GT(want.size(), 50u);
  EXPECT_EQ(sorted(got), sorted(want));
}

// The worst case of the bound: every element rounds by almost u = 2^-8 the same way, so
// the bf16 score is off by almost 2u. The bound holds, is nearly reached, and the joiner
// decides both pairs by their exact score: kept though bf16 says 1.0 < threshold, and
// dropped though bf16 says 1.0 >= threshold.
TEST(BlockJoin, Bf16BoundIsTightAndBothWorstCasesAreDecidedExactly) {
  const int dim = 64;  // elements near 1/8, a power of two
  const float up = static_cast<float>((1 + std::ldexp(1.0, -8) - std::ldexp(1.0, -20)) / 8);
  const float down = static_cast<float>((1 - std::ldexp(1.0, -9) + std::ldexp(1.0, -20)) / 8);
  std::vector<std::uint16_t> r16(dim);
  for (const float e : {up, down}) {
    Block x{std::vector<float>(2 * dim, e), {0, 1}, dim};
    const double norm = to_bf16_rows(x.data.data(), 1, dim, r16.data());
    EXPECT_EQ(r16[0], 0x3E00) << "rounds to 1/8";
    const double exact = exact_dot(x.data.data(), x.data.data(), dim);
    const double error = std::abs(exact - 1.0);  // the bf16 score is 64 / 64 exactly
    const double bound = bf16_score_bound(dim, norm, norm);
    EXPECT_LE(error, bound);
    EXPECT_GT(error, 0.45 * bound);
    const float t = static_cast<float>(e == up ? exact - 0.0005 : exact + 0.0005);
    std::vector<ScoredPair> got;
    BlockJoiner joiner(dim, t, 2, JoinPrecision::kBF16);
    joiner.join(x.view(), x.view(), true, got);
    if (e == up) {
      ASSERT_EQ(got.size(), 1u) << "exact " << exact << " >= threshold " << t;
      EXPECT_EQ(got[0].score, static_cast<float>(exact));
    } else {
      EXPECT_TRUE(got.empty()) << "exact " << exact << " < threshold " << t;
    }
  }
}

TEST(BlockJoin, PrecisionNames) {
  EXPECT_EQ(parse_join_precision("fp32"), JoinPrecision::kF32);
  EXPECT_EQ(parse_join_precision("bf16"), JoinPrecision::kBF16);
  EXPECT_STREQ(join_precision_name(JoinPrecision::kBF16), "bf16");
  EXPECT_THROW(parse_join_precision("fp16"), Error);
}

TEST(BlockJoin, ExactDotIsOrderFixed) {
  std::vector<float> x{1e8f, 1.f, -1e8f}, y{1.f, 1.f, 1.f};
  EXPECT_DOUBLE_EQ(exact_dot(x.data(), y.data(), 3), 1.0);
}

// The lane-wise sum (32 lanes, then the tail) against a plain sum in long double, at every
// dimension that exercises the 32-wide body, the 8-wide loop and the tail.
TEST(BlockJoin, ExactDotAgreesWithAPlainSum) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  for (int dim = 1; dim <= 140; ++dim) {
    std::vector<float> x(dim), y(dim);
    for (auto& v : x) v = g(rng);
    for (auto& v : y) v = g(rng);
    long double plain = 0, magnitude = 0;
    for (int k = 0; k < dim; ++k) {
      plain += static_cast<long double>(x[k]) * y[k];
      magnitude += std::fabs(static_cast<long double>(x[k]) * y[k]);
    }
    EXPECT_NEAR(exact_dot(x.data(), y.data(), dim), static_cast<double>(plain),
                static_cast<double>(magnitude) * 1e-14)
        << "dim " << dim;
  }
}

}  // namespace
}  // namespace pm::dedup
