// RangeObserver (minmax, percentile, entropy) and entropy_threshold_bins.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "pixelmill/error.h"
#include "pixelmill/quantize.h"

namespace pm {
namespace {

engine::ActivationRange observe(const std::vector<float>& v, CalibrationMethod m, double p = 99.99) {
  RangeObserver o;
  // Two batches, as calibration gives them.
  const std::size_t half = v.size() / 2;
  o.observe_extremes(v.data(), static_cast<std::int64_t>(half));
  o.observe_extremes(v.data() + half, static_cast<std::int64_t>(v.size() - half));
  if (o.needs_histogram(m)) {
    o.observe_histogram(v.data(), static_cast<std::int64_t>(half));
    o.observe_histogram(v.data() + half, static_cast<std::int64_t>(v.size() - half));
  }
  return o.range(m, p);
}

TEST(RangeObserver, MinMaxIncludesZeroAndSkipsNonFinite) {
  auto r = observe({1.f, 2.f, 3.f, std::numeric_limits<float>::quiet_NaN()}, CalibrationMethod::kMinMax);
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_EQ(r.hi, 3.f);
  r = observe({-2.f, 5.f, std::numeric_limits<float>::infinity(), 0.5f}, CalibrationMethod::kMinMax);
  EXPECT_EQ(r.lo, -2.f);
  EXPECT_EQ(r.hi, 5.f);
  r = observe({-4.f, -1.f}, CalibrationMethod::kMinMax);
  EXPECT_EQ(r.lo, -4.f);
  EXPECT_EQ(r.hi, 0.f);
}

TEST(RangeObserver, PercentileCutsRareOutliers) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(0.f, 10.f);
  std::vector<float> v(1000000);
  for (float& x : v) x = u(gen);
  for (int i = 0; i < 50; ++i) v[static_cast<std::size_t>(i) * 1000] = 100.f;  // 0.005% of the values
  const auto mm = observe(v, CalibrationMethod::kMinMax);
  EXPECT_EQ(mm.hi, 100.f);
  const auto p = observe(v, CalibrationMethod::kPercentile, 99.99);
  EXPECT_EQ(p.lo, 0.f);
  EXPECT_NEAR(p.hi, 10.f, 0.1f);  // the 99.99th percentile of U(0,10) with the outliers above it
  // A signed activation: both ends cut symmetrically.
  for (std::size_t i = 0; i < v.size(); i += 2) v[i] = -v[i];
  const auto s = observe(v, CalibrationMethod::kPercentile, 99.9);
  EXPECT_NEAR(s.lo, -10.f, 0.2f);
  EXPECT_NEAR(s.hi, 10.f, 0.2f);
}

TEST(RangeObserver, HistogramBeforeExtremesIsRefused) {
  RangeObserver o;
  const float x = 1.f;
  EXPECT_THROW(o.observe_histogram(&x, 1), Error);
  EXPECT_THROW(o.range(CalibrationMethod::kMinMax, 99.99), Error);
}

TEST(EntropyThreshold, UniformKeepsEverything) {
  // Every step of a uniform histogram is already uniform: nothing is lost at full range.
  EXPECT_EQ(entropy_threshold_bins(std::vector<double>(2048, 5.0), 128), 2048);
}

TEST(EntropyThreshold, LongTailIsCut) {
  // A Laplacian-like activation: most of the mass near zero, a thin tail to the far end.
  std::vector<double> h(2048);
  for (std::size_t b = 0; b < h.size(); ++b) h[b] = std::floor(1e7 * std::exp(-static_cast<double>(b) / 60.0)) + 1;
  const int t = entropy_threshold_bins(h, 255);
  EXPECT_GE(t, 255);
  EXPECT_LT(t, 1024);  // the tail beyond is cheaper to clip than to spend steps on
  EXPECT_THROW(entropy_threshold_bins(std::vector<double>(100, 1.0), 128), Error);
}

TEST(RangeObserver, EntropyOfAReluActivationClipsItsTail) {
  std::mt19937 gen(2);
  std::exponential_distribution<float> e(1.f);
  std::vector<float> v(400000);
  for (float& x : v) x = e(gen);
  for (std::size_t i = 0; i < v.size(); i += 3) v[i] = 0.f;  // ReLU zeros
  const auto mm = observe(v, CalibrationMethod::kMinMax);
  const auto r = observe(v, CalibrationMethod::kEntropy);
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_GT(r.hi, 3.f);        // keeps the bulk (95% of Exp(1) lies below 3)
  EXPECT_LT(r.hi, mm.hi);      // and drops the extreme tail
}

TEST(CalibrationMethod, NamesRoundTrip) {
  for (auto m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy})
    EXPECT_EQ(parse_calibration_method(calibration_method_name(m)), m);
  EXPECT_THROW(parse_calibration_method("kl"), Error);
}

}  // namespace
}  // namespace pm
