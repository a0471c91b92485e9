// Comparisons of float tensors for tests that cannot pass by accident. A difference folded
// with std::max skips NaN (std::max(m, NaN) returns m), so an output of NaNs would compare
// as exact; these return +infinity instead, which fails every `< tol`, `<= tol` and `== 0`.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "pixelmill/tensor.h"

namespace pm::test {

namespace detail {

// The largest term(a[i], b[i]); +inf when the tensors differ in shape or dtype, are not
// float32, or any term is NaN (a NaN on either side, or inf - inf).
template <class Term>
float max_term(const Tensor& a, const Tensor& b, Term term) {
  constexpr float kFail = std::numeric_limits<float>::infinity();
  if (a.dtype() != DType::kF32 || b.dtype() != DType::kF32 || a.shape() != b.shape()) return kFail;
  float m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const float d = term(a.ptr<float>()[i], b.ptr<float>()[i]);
    if (std::isnan(d)) return kFail;
    m = std::max(m, d);
  }
  return m;
}

}  // namespace detail

// Largest |a - b|; +inf on a NaN or a shape/dtype mismatch.
inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  return detail::max_term(a, b, [](float x, float y) { return std::fabs(x - y); });
}

// Largest |a - b| / (1 + |b|); +inf on a NaN or a shape/dtype mismatch.
inline float max_rel_diff(const Tensor& a, const Tensor& b) {
  return detail::max_term(a, b, [](float x, float y) { return std::fabs(x - y) / (1.f + std::fabs(y)); });
}

// max - min over a float32 tensor's elements, for "the output is not constant" checks;
// 0 for an empty tensor. NaN (not +inf) when any element is NaN or infinite, or `a` is
// not float32: such checks use `>`, which +inf would pass and NaN fails.
inline float value_range(const Tensor& a) {
  constexpr float kFail = std::numeric_limits<float>::quiet_NaN();
  if (a.dtype() != DType::kF32) return kFail;
  if (a.numel() == 0) return 0.f;
  float lo = a.ptr<float>()[0], hi = lo;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const float v = a.ptr<float>()[i];
    if (!std::isfinite(v)) return kFail;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return hi - lo;
}

}  // namespace pm::test
