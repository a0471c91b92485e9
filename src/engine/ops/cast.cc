// Cast between the dtypes the engine stores. Used at load for fp16 initializers (folded
// to fp32) and at run time for the uint8 image input.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/half.h"
#include "ops/op_util.h"

namespace pm::engine {

namespace {

DType onnx_to_dtype(const Node& n, std::int64_t to) {
  switch (to) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kI8;
    case 6: return DType::kI32;
    case 7: return DType::kI64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 11: return DType::kF64;
    case 16: return DType::kBF16;
    default: op_fail(n, "cast to ONNX type " + std::to_string(to) + " not supported");
  }
}

std::vector<ValueType> infer_cast(const Node& n, const std::vector<ValueType>& in) {
  return {vt(onnx_to_dtype(n, n.attr_i("to", 1)), in.at(0).shape)};
}

double load(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::kF32: return t.ptr<float>()[i];
    case DType::kF16: return half_to_float(t.ptr<std::uint16_t>()[i]);
    case DType::kBF16: return bf16_to_float(t.ptr<std::uint16_t>()[i]);
    case DType::kU8: return t.ptr<std::uint8_t>()[i];
    case DType::kI8: return t.ptr<std::int8_t>()[i];
    case DType::kI32: return t.ptr<std::int32_t>()[i];
    case DType::kI64: return double(t.ptr<std::int64_t>()[i]);
    case DType::kBool: return t.ptr<std::uint8_t>()[i] ? 1.0 : 0.0;
    case DType::kF64: return t.ptr<double>()[i];
  }
  return 0;
}

template <class T>
T saturate_int(double v) {
  // Float -> int casts truncate toward zero (as ONNX Runtime does); out-of-range is undefined
  // in ONNX, here it saturates so that it is at least not undefined in C++.
  if (std::isnan(v)) return 0;
  const double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
  return static_cast<T>(std::trunc(std::min(std::max(v, lo), hi)));
}

void store(Tensor& t, std::int64_t i, double v) {
  switch (t.dtype()) {
    case DType::kF32: t.ptr<float>()[i] = float(v); break;
    case DType::kF16: t.ptr<std::uint16_t>()[i] = float_to_half(float(v)); break;
    case DType::kBF16: t.ptr<std::uint16_t>()[i] = float_to_bf16(float(v)); break;
    case DType::kU8: t.ptr<std::uint8_t>()[i] = saturate_int<std::uint8_t>(v); break;
    case DType::kI8: t.ptr<std::int8_t>()[i] = saturate_int<std::int8_t>(v); break;
    case DType::kI32: t.ptr<std::int32_t>()[i] = saturate_int<std::int32_t>(v); break;
    case DType::kI64: t.ptr<std::int64_t>()[i] = saturate_int<std::int64_t>(v); break;
    case DType::kBool: t.ptr<std::uint8_t>()[i] = v != 0.0; break;
    case DType::kF64: t.ptr<double>()[i] = v; break;
  }
}

void ref_Cast(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = *in[0];
  Tensor& y = out[0];
  const std::int64_t count = x.numel();
  if (x.dtype() == y.dtype()) {
    std::memcpy(y.data(), x.data(), x.nbytes());
  } else if (x.dtype() == DType::kU8 && y.dtype() == DType::kF32) {  // the image input: hot
    const auto* s = x.ptr<std::uint8_t>();
    float* d = y.ptr<float>();
    for (std::int64_t i = 0; i < count; ++i) d[i] = s[i];
  } else if (x.dtype() == DType::kF16 && y.dtype() == DType::kF32) {
    const auto* s = x.ptr<std::uint16_t>();
    float* d = y.ptr<float>();
    for (std::int64_t i = 0; i < count; ++i) d[i] = half_to_float(s[i]);
  } else if (x.dtype() == DType::kI64 && y.dtype() == DType::kI32) {
    for (std::int64_t i = 0; i < count; ++i) y.ptr<std::int32_t>()[i] = std::int32_t(x.ptr<std::int64_t>()[i]);
  } else {
    for (std::int64_t i = 0; i < count; ++i) store(y, i, load(x, i));
  }
}

}  // namespace

void register_cast_ops(OpTable& t) { t.add({"Cast", infer_cast, ref_Cast}); }

}  // namespace pm::engine
