// The shared comparisons fail on NaN, infinities that cancel, and shape mismatches: a test
// that compares an output of NaNs with its oracle must fail, not pass as exact.
#include "tensor_compare.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace pm::test {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

Tensor ramp(Dims shape) {
  Tensor t(DType::kF32, std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = 0.25f * static_cast<float>(i) - 1.f;
  return t;
}

TEST(TensorCompare, EqualTensorsDifferByZero) {
  const Tensor a = ramp({2, 3}), b = ramp({2, 3});
  EXPECT_EQ(max_abs_diff(a, b), 0.f);
  EXPECT_EQ(max_rel_diff(a, b), 0.f);
  Tensor c = b.clone();
  c.ptr<float>()[4] += 0.5f;
  EXPECT_FLOAT_EQ(max_abs_diff(c, a), 0.5f);
  EXPECT_FLOAT_EQ(max_rel_diff(c, a), 0.5f / (1.f + std::fabs(a.ptr<float>()[4])));
}

// Why the helpers exist: the fold they replace calls an output of NaNs exact.
TEST(TensorCompare, AStdMaxFoldSkipsNaN) {
  const Tensor want = ramp({8});
  Tensor got(DType::kF32, {8});
  std::fill(got.ptr<float>(), got.ptr<float>() + got.numel(), kNaN);
  float folded = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i)
    folded = std::max(folded, std::fabs(got.ptr<float>()[i] - want.ptr<float>()[i]));
  EXPECT_EQ(folded, 0.f);
  EXPECT_EQ(max_abs_diff(got, want), kInf);
  EXPECT_EQ(max_rel_diff(got, want), kInf);
}

TEST(TensorCompare, ANaNOutputFailsTheComparison) {
  const Tensor want = ramp({2, 3});
  for (std::int64_t at : {0, 3, 5}) {
    Tensor got = want.clone();
    got.ptr<float>()[at] = kNaN;
    // The assertion the engine tests make, on an output with one NaN: it must fail.
    EXPECT_NONFATAL_FAILURE(EXPECT_LT(max_rel_diff(got, want), 1e-4f), "max_rel_diff(got, want)");
    EXPECT_NONFATAL_FAILURE(EXPECT_LT(max_abs_diff(got, want), 1e-4f), "max_abs_diff(got, want)");
    EXPECT_NONFATAL_FAILURE(EXPECT_EQ(max_abs_diff(got, want), 0.f), "max_abs_diff(got, want)");
    // A NaN in the oracle, or in both at the same place, fails as well.
    EXPECT_NONFATAL_FAILURE(EXPECT_LT(max_rel_diff(want, got), 1e-4f), "max_rel_diff(want, got)");
    EXPECT_NONFATAL_FAILURE(EXPECT_LT(max_abs_diff(got, got), 1e-4f), "max_abs_diff(got, got)");
  }
}

TEST(TensorCompare, InfinitiesFail) {
  const Tensor want = ramp({4});
  Tensor got = want.clone();
  got.ptr<float>()[1] = kInf;
  EXPECT_EQ(max_abs_diff(got, want), kInf);
  EXPECT_EQ(max_rel_diff(got, want), kInf);
  EXPECT_EQ(max_abs_diff(got, got), kInf);  // inf - inf is NaN
}

TEST(TensorCompare, MismatchedTensorsFail) {
  EXPECT_EQ(max_abs_diff(ramp({2, 3}), ramp({3, 2})), kInf);
  EXPECT_EQ(max_rel_diff(ramp({6}), ramp({2, 3})), kInf);
  EXPECT_EQ(max_abs_diff(ramp({2}), Tensor(DType::kI32, {2})), kInf);
  EXPECT_EQ(max_abs_diff(Tensor(DType::kU8, {2}), Tensor(DType::kU8, {2})), kInf);
}

TEST(TensorCompare, ValueRangeFailsTheSpreadCheckOnNaN) {
  Tensor a = ramp({2, 3});
  EXPECT_FLOAT_EQ(value_range(a), 1.25f);
  EXPECT_EQ(value_range(Tensor(DType::kF32, {0})), 0.f);
  a.ptr<float>()[2] = kNaN;
  EXPECT_NONFATAL_FAILURE(EXPECT_GT(value_range(a), 1e-3f), "value_range(a)");
  a.ptr<float>()[2] = kInf;
  EXPECT_NONFATAL_FAILURE(EXPECT_GT(value_range(a), 1e-3f), "value_range(a)");
  EXPECT_TRUE(std::isnan(value_range(Tensor(DType::kI64, {3}))));
}

}  // namespace
}  // namespace pm::test
