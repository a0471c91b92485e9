// RangeObserver and the entropy threshold: the calibration statistics of pixelmill/quantize.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "pixelmill/error.h"
#include "pixelmill/quantize.h"

namespace pm {

CalibrationMethod parse_calibration_method(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "entropy") return CalibrationMethod::kEntropy;
  throw Error("--method must be minmax, percentile or entropy, not '" + name + "'");
}

const char* calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kEntropy: return "entropy";
  }
  return "?";
}

namespace {

int bin_of(float v, float lo, float width) {
  if (!(width > 0.f)) return 0;
  const int b = static_cast<int>((v - lo) / width);
  return std::clamp(b, 0, RangeObserver::kBins - 1);
}

// The value below which `share` of the histogram's mass lies (linear inside the bin).
float quantile(const std::vector<double>& hist, float lo, float width, double share) {
  double total = 0;
  for (double h : hist) total += h;
  if (total <= 0) return lo;
  const double want = share * total;
  double acc = 0;
  for (std::size_t b = 0; b < hist.size(); ++b) {
    if (acc + hist[b] >= want && hist[b] > 0) {
      const double inside = (want - acc) / hist[b];
      return lo + width * static_cast<float>(static_cast<double>(b) + inside);
    }
    acc += hist[b];
  }
  return lo + width * static_cast<float>(hist.size());
}

}  // namespace

void RangeObserver::observe_extremes(const float* x, std::int64_t n) {
  float lo = 0.f, hi = 0.f;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;  // a NaN or inf must not take the whole range
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo_ = seen_ ? std::min(lo_, lo) : lo;
  hi_ = seen_ ? std::max(hi_, hi) : hi;
  seen_ = true;
}

void RangeObserver::observe_histogram(const float* x, std::int64_t n) {
  if (!seen_) throw Error("RangeObserver: observe_histogram before observe_extremes");
  if (signed_.empty()) {
    signed_.assign(kBins, 0.0);
    abs_.assign(kBins, 0.0);
  }
  const float width = (hi_ - lo_) / kBins;
  const float awidth = std::max(-lo_, hi_) / kBins;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    signed_[static_cast<std::size_t>(bin_of(x[i], lo_, width))] += 1;
    abs_[static_cast<std::size_t>(bin_of(std::fabs(x[i]), 0.f, awidth))] += 1;
  }
}

engine::ActivationRange RangeObserver::range(CalibrationMethod m, double percentile) const {
  if (!seen_) throw Error("RangeObserver: no values observed");
  if (m == CalibrationMethod::kMinMax || signed_.empty() || hi_ <= lo_) return {lo_, hi_};
  if (m == CalibrationMethod::kPercentile) {
    const float width = (hi_ - lo_) / kBins;
    const double cut = (100.0 - percentile) / 100.0;
    const float lo = lo_ < 0.f ? quantile(signed_, lo_, width, cut) : 0.f;
    const float hi = hi_ > 0.f ? quantile(signed_, lo_, width, 1.0 - cut) : 0.f;
    return {std::min(lo, 0.f), std::max(hi, 0.f)};
  }
  // Entropy: a non-negative activation (after ReLU) spends the 255 steps on [0, t]; a
  // signed one 128 steps on each side of zero, [-t, t].
  const bool non_negative = lo_ >= 0.f;
  const float amax = std::max(-lo_, hi_);
  const int t = entropy_threshold_bins(abs_, non_negative ? 255 : 128);
  const float limit = amax * static_cast<float>(t) / kBins;
  return {std::max(lo_, -limit), std::min(hi_, limit)};
}

int entropy_threshold_bins(const std::vector<double>& hist, int levels) {
  const int bins = static_cast<int>(hist.size());
  if (levels < 1 || bins < levels) throw Error("entropy_threshold_bins: fewer bins than levels");
  double best = std::numeric_limits<double>::infinity();
  int best_t = bins;
  std::vector<double> p, q;
  for (int t = levels; t <= bins; ++t) {
    p.assign(hist.begin(), hist.begin() + t);
    for (int b = t; b < bins; ++b) p[static_cast<std::size_t>(t - 1)] += hist[static_cast<std::size_t>(b)];
    // The `levels`-step version of hist[0, t): each step's mass spread over its non-empty bins.
    q.assign(static_cast<std::size_t>(t), 0.0);
    const int per = t / levels;
    for (int j = 0; j < levels; ++j) {
      const int start = j * per, stop = j == levels - 1 ? t : start + per;
      double mass = 0;
      int nonzero = 0;
      for (int b = start; b < stop; ++b) {
        mass += hist[static_cast<std::size_t>(b)];
        nonzero += hist[static_cast<std::size_t>(b)] != 0;
      }
      if (nonzero == 0) continue;
      for (int b = start; b < stop; ++b)
        if (hist[static_cast<std::size_t>(b)] != 0) q[static_cast<std::size_t>(b)] = mass / nonzero;
    }
    double ps = 0, qs = 0;
    for (int b = 0; b < t; ++b) {
      ps += p[static_cast<std::size_t>(b)];
      qs += q[static_cast<std::size_t>(b)];
    }
    if (ps <= 0 || qs <= 0) continue;
    double kl = 0;
    bool finite = true;
    for (int b = 0; b < t && finite; ++b) {
      const double pb = p[static_cast<std::size_t>(b)] / ps, qb = q[static_cast<std::size_t>(b)] / qs;
      if (pb <= 0) continue;
      if (qb <= 0) finite = false;  // the folded tail lands in a bin the steps left empty
      else kl += pb * std::log(pb / qb);
    }
    if (finite && kl < best) {
      best = kl;
      best_t = t;
    }
  }
  return best_t;
}

}  // namespace pm
