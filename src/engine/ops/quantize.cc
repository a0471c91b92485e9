// QuantizeLinear and DequantizeLinear (opsets 10-18): the Q/DQ nodes of a QDQ model, per
// tensor or per axis, 8-bit (and int32 for DequantizeLinear, the biases of a QDQ model).
// These reference kernels run a QDQ model exactly as the ONNX spec writes it: float
// arithmetic around fake-quantised tensors; weights behind DequantizeLinear are folded to
// float32 at load (fold_constants), like any node of constant inputs.
//   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
//   DequantizeLinear: y = (x - zero_point) * scale   (the difference in int32, as ORT)
#include <cmath>
#include <cstdint>
#include <limits>

#include "ops/op_util.h"

namespace pm::engine {

namespace {

bool eight_bit(DType t) { return t == DType::kU8 || t == DType::kI8; }

// The scale's (and zero point's) layout against x: one value for the whole tensor, or one
// per index of x's `axis`. Returns the axis (-1 for per tensor).
std::int64_t scale_axis(const Node& n, const std::vector<ValueType>& in, const char* what) {
  const Dims& x = in[0].shape;
  const Dims& s = in[1].shape;
  PM_OP_CHECK(n, in[1].dtype == DType::kF32, std::string(what) + ": the scale must be float32, not " +
                                                 dtype_name(in[1].dtype));
  std::int64_t count = 1;
  for (const auto d : s) count = d < 0 ? -1 : count * d;
  std::int64_t axis = -1;
  if (s.size() == 1 && count != 1) {
    axis = norm_axis(n, n.attr_i("axis", 1), x.size());
    PM_OP_CHECK(n, x[static_cast<std::size_t>(axis)] < 0 || s[0] < 0 || s[0] == x[static_cast<std::size_t>(axis)],
                std::string(what) + ": " + std::to_string(s[0]) + " scales for axis " + std::to_string(axis) +
                    " of size " + std::to_string(x[static_cast<std::size_t>(axis)]));
  } else {
    PM_OP_CHECK(n, s.size() <= 1 && (count == 1 || count < 0),
                std::string(what) + ": the scale must be a scalar or 1-D, not " + dims_str(s));
  }
  if (n.has_input(2)) {
    PM_OP_CHECK(n, in[2].shape == s, std::string(what) + ": the zero point's shape " + dims_str(in[2].shape) +
                                         " differs from the scale's " + dims_str(s));
  }
  return axis;
}

std::vector<ValueType> infer_quantize(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() >= 2, "QuantizeLinear needs x and y_scale");
  PM_OP_CHECK(n, in[0].dtype == DType::kF32, "QuantizeLinear: x must be float32, not " + dtype_name(in[0].dtype));
  scale_axis(n, in, "QuantizeLinear");
  DType out = DType::kU8;
  if (n.has_input(2)) {
    PM_OP_CHECK(n, eight_bit(in[2].dtype), "QuantizeLinear: the zero point must be uint8 or int8, not " +
                                                dtype_name(in[2].dtype));
    out = in[2].dtype;
  }
  return {vt(out, in[0].shape)};
}

std::vector<ValueType> infer_dequantize(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() >= 2, "DequantizeLinear needs x and x_scale");
  const DType x = in[0].dtype;
  PM_OP_CHECK(n, eight_bit(x) || x == DType::kI32,
              "DequantizeLinear: x must be uint8, int8 or int32, not " + dtype_name(x));
  scale_axis(n, in, "DequantizeLinear");
  if (n.has_input(2)) {
    PM_OP_CHECK(n, in[2].dtype == x, "DequantizeLinear: the zero point's type " + dtype_name(in[2].dtype) +
                                         " differs from x's " + dtype_name(x));
  }
  return {vt(DType::kF32, in[0].shape)};
}

// Walks x in row-major order calling f(i, c) with c the index into scale/zero point.
template <class F>
void for_each_channel(const Dims& shape, std::int64_t axis, F&& f) {
  std::int64_t outer = 1, channels = 1, inner = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto a = static_cast<std::int64_t>(d);
    if (axis < 0 || a < axis) outer *= shape[d];
    else if (a == axis) channels = shape[d];
    else inner *= shape[d];
  }
  std::int64_t i = 0;
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t k = 0; k < inner; ++k, ++i) f(i, axis < 0 ? 0 : c);
}

std::int32_t zero_at(const Tensor* zp, std::int64_t c) {
  if (!zp) return 0;
  switch (zp->dtype()) {
    case DType::kU8: return zp->ptr<std::uint8_t>()[c];
    case DType::kI8: return zp->ptr<std::int8_t>()[c];
    case DType::kI32: return zp->ptr<std::int32_t>()[c];
    default: return 0;
  }
}

std::int64_t axis_of(const Node& n, const std::vector<const Tensor*>& in) {
  return in[1]->numel() == 1 ? -1 : norm_axis(n, n.attr_i("axis", 1), in[0]->shape().size());
}

template <class T>
void quantize_to(const Node& n, const std::vector<const Tensor*>& in, Tensor& y) {
  const float* x = in[0]->ptr<float>();
  const float* scale = in[1]->ptr<float>();
  const Tensor* zp = in.size() > 2 ? in[2] : nullptr;  // nullptr: absent (zero)
  T* out = y.ptr<T>();
  constexpr float lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  for_each_channel(in[0]->shape(), axis_of(n, in), [&](std::int64_t i, std::int64_t c) {
    // nearbyint rounds half to even in the default rounding mode; NaN goes to the zero point.
    const float q = std::nearbyint(x[i] / scale[c]);
    const float v = (std::isnan(q) ? 0.f : q) + static_cast<float>(zero_at(zp, c));
    out[i] = static_cast<T>(std::fmin(std::fmax(v, lo), hi));
  });
}

void ref_QuantizeLinear(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  if (out[0].dtype() == DType::kI8) {
    quantize_to<std::int8_t>(n, in, out[0]);
  } else {
    quantize_to<std::uint8_t>(n, in, out[0]);
  }
}

template <class T>
void dequantize_from(const Node& n, const std::vector<const Tensor*>& in, Tensor& y) {
  const T* x = in[0]->ptr<T>();
  const float* scale = in[1]->ptr<float>();
  const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
  float* out = y.ptr<float>();
  for_each_channel(in[0]->shape(), axis_of(n, in), [&](std::int64_t i, std::int64_t c) {
    // In int64: an int32 x less a crafted zero point may leave int32.
    out[i] = static_cast<float>(static_cast<std::int64_t>(x[i]) - zero_at(zp, c)) * scale[c];
  });
}

void ref_DequantizeLinear(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  switch (in[0]->dtype()) {
    case DType::kI8: dequantize_from<std::int8_t>(n, in, out[0]); break;
    case DType::kI32: dequantize_from<std::int32_t>(n, in, out[0]); break;
    default: dequantize_from<std::uint8_t>(n, in, out[0]); break;
  }
}

}  // namespace

void register_quantize_ops(OpTable& t) {
  t.add({"QuantizeLinear", infer_quantize, ref_QuantizeLinear});
  t.add({"DequantizeLinear", infer_dequantize, ref_DequantizeLinear});
}

}  // namespace pm::engine
