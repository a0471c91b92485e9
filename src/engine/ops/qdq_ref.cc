#include "ops/qdq_ref.h"

#include <cmath>
#include <cstdint>

#include "ops/op_util.h"

namespace pm::engine {

void check_activation_quant(const Node& n) {
  PM_OP_CHECK(n, n.attr_f("x_scale", 0.f) > 0.f, "x_scale must be positive");
  const std::int64_t zp = n.attr_i("x_zero_point", 0);
  PM_OP_CHECK(n, n.attr_i("x_signed", 0) ? zp >= -128 && zp <= 127 : zp >= 0 && zp <= 255,
              "x_zero_point out of range");
}

Tensor fake_quantise_activation(const Node& n, const Tensor& x) {
  const float sx = n.attr_f("x_scale", 1.f);
  const auto zx = static_cast<float>(n.attr_i("x_zero_point", 0));
  const bool is_signed = n.attr_i("x_signed", 0) != 0;
  const float lo = is_signed ? -128.f : 0.f, hi = is_signed ? 127.f : 255.f;
  Tensor xd(DType::kF32, x.shape());
  const float* px = x.ptr<float>();
  float* pd = xd.ptr<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const float r = std::nearbyint(px[i] / sx);
    const float q = std::fmin(std::fmax((std::isnan(r) ? 0.f : r) + zx, lo), hi);
    pd[i] = static_cast<float>(static_cast<std::int32_t>(q) - static_cast<std::int32_t>(zx)) * sx;
  }
  return xd;
}

Tensor dequantise_activation(const Node& n, const Tensor& q) {
  const float sx = n.attr_f("x_scale", 1.f);
  const auto zx = static_cast<std::int32_t>(n.attr_i("x_zero_point", 0));
  Tensor xd(DType::kF32, q.shape());
  float* pd = xd.ptr<float>();
  if (q.dtype() == DType::kI8) {
    const std::int8_t* p = q.ptr<std::int8_t>();
    for (std::int64_t i = 0; i < q.numel(); ++i) pd[i] = static_cast<float>(static_cast<std::int32_t>(p[i]) - zx) * sx;
  } else {
    const std::uint8_t* p = q.ptr<std::uint8_t>();
    for (std::int64_t i = 0; i < q.numel(); ++i) pd[i] = static_cast<float>(static_cast<std::int32_t>(p[i]) - zx) * sx;
  }
  return xd;
}

void check_output_quant(const Node& n) {
  if (!n.has_attr("y_scale")) return;
  PM_OP_CHECK(n, n.attr_f("y_scale", 0.f) > 0.f, "y_scale must be positive");
  const std::int64_t zp = n.attr_i("y_zero_point", 0);
  PM_OP_CHECK(n, n.attr_i("y_signed", 0) ? zp >= -128 && zp <= 127 : zp >= 0 && zp <= 255,
              "y_zero_point out of range");
}

void quantise_output(const Node& n, const Tensor& y, Tensor& q) {
  const float sy = n.attr_f("y_scale", 1.f);
  const auto zy = static_cast<float>(n.attr_i("y_zero_point", 0));
  const bool is_signed = n.attr_i("y_signed", 0) != 0;
  const float lo = is_signed ? -128.f : 0.f, hi = is_signed ? 127.f : 255.f;
  const float* py = y.ptr<float>();
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    const float r = std::nearbyint(py[i] / sy);
    const float v = std::fmin(std::fmax((std::isnan(r) ? 0.f : r) + zy, lo), hi);
    if (is_signed) q.ptr<std::int8_t>()[i] = static_cast<std::int8_t>(v);
    else q.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(v);
  }
}

Tensor dequantise_weights(const Tensor& wq, const float* scales, std::size_t axis) {
  Tensor wd(DType::kF32, wq.shape());
  std::int64_t inner = 1;
  for (std::size_t d = axis + 1; d < wq.shape().size(); ++d) inner *= wq.shape()[d];
  const std::int64_t channels = wq.shape()[axis];
  const std::int8_t* w = wq.ptr<std::int8_t>();
  float* out = wd.ptr<float>();
  for (std::int64_t i = 0; i < wq.numel(); ++i) out[i] = static_cast<float>(w[i]) * scales[(i / inner) % channels];
  return wd;
}

}  // namespace pm::engine
