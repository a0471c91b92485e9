// Unary activations and broadcasting binary arithmetic (Add/Sub/Mul/Div/Pow/...).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "ops/op_util.h"

namespace pm::engine {

namespace {

// ---- unary (float32) ----
std::vector<ValueType> infer_same(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, !in.empty(), "needs an input");
  std::vector<ValueType> out{vt(in[0].dtype, in[0].shape)};
  for (std::size_t i = 1; i < n.outputs.size(); ++i) out.push_back(vt(DType::kBool, in[0].shape));
  return out;
}

template <class F>
void unary_f32(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out, F f) {
  PM_OP_CHECK(n, in[0]->dtype() == DType::kF32, "expects float32, got " + dtype_name(in[0]->dtype()));
  const float* x = in[0]->ptr<float>();
  float* y = out[0].ptr<float>();
  const std::int64_t count = in[0]->numel();
  for (std::int64_t i = 0; i < count; ++i) y[i] = f(x[i]);
}

#define PM_UNARY(NAME, EXPR)                                                                  \
  void ref_##NAME(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) { \
    [[maybe_unused]] const float alpha = n.attr_f("alpha", 0.f);                              \
    [[maybe_unused]] const float beta = n.attr_f("beta", 0.f);                                \
    unary_f32(n, in, out, [&](float x) -> float { return EXPR; });                            \
  }

PM_UNARY(Relu, x > 0.f ? x : 0.f)
PM_UNARY(Sigmoid, 1.f / (1.f + std::exp(-x)))
PM_UNARY(Tanh, std::tanh(x))
PM_UNARY(Erf, std::erf(x))
PM_UNARY(Sqrt, std::sqrt(x))
PM_UNARY(Exp, std::exp(x))
PM_UNARY(Log, std::log(x))
PM_UNARY(Neg, -x)
PM_UNARY(Abs, std::fabs(x))
PM_UNARY(Reciprocal, 1.f / x)
PM_UNARY(Floor, std::floor(x))
PM_UNARY(Ceil, std::ceil(x))
PM_UNARY(Softsign, x / (1.f + std::fabs(x)))
PM_UNARY(Softplus, std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.f))
PM_UNARY(HardSwish, x * std::clamp(x / 6.f + 0.5f, 0.f, 1.f))
#undef PM_UNARY

void ref_LeakyRelu(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const float a = n.attr_f("alpha", 0.01f);
  unary_f32(n, in, out, [a](float x) { return x >= 0.f ? x : a * x; });
}
void ref_Elu(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const float a = n.attr_f("alpha", 1.f);
  unary_f32(n, in, out, [a](float x) { return x >= 0.f ? x : a * (std::exp(x) - 1.f); });
}
void ref_Selu(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const float a = n.attr_f("alpha", 1.67326319217681884765625f);
  const float g = n.attr_f("gamma", 1.05070102214813232421875f);
  unary_f32(n, in, out, [a, g](float x) { return x > 0.f ? g * x : g * (a * std::exp(x) - a); });
}
void ref_HardSigmoid(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const float a = n.attr_f("alpha", 0.2f), b = n.attr_f("beta", 0.5f);
  unary_f32(n, in, out, [a, b](float x) { return std::clamp(a * x + b, 0.f, 1.f); });
}
void ref_Gelu(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  if (n.attr_s("approximate", "none") == "tanh") {
    unary_f32(n, in, out, [](float x) {
      return 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    });
  } else {
    unary_f32(n, in, out, [](float x) { return 0.5f * x * (1.f + std::erf(x * 0.7071067811865476f)); });
  }
}
void ref_Clip(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  // Opset >= 11 gives min/max as optional inputs; opset 6 as attributes.
  float lo = n.attr_f("min", -INFINITY), hi = n.attr_f("max", INFINITY);
  if (in.size() > 1 && in[1]) lo = in[1]->ptr<float>()[0];
  if (in.size() > 2 && in[2]) hi = in[2]->ptr<float>()[0];
  unary_f32(n, in, out, [lo, hi](float x) { return std::min(std::max(x, lo), hi); });
}
void ref_Copy(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  if (in[0]->nbytes()) std::memcpy(out[0].data(), in[0]->data(), in[0]->nbytes());
  // Dropout's optional mask: all true in inference.
  if (out.size() > 1 && !out[1].empty()) std::memset(out[1].data(), 1, out[1].nbytes());
}

// ---- binary with numpy broadcasting ----
std::vector<ValueType> infer_binary(const Node& n, const std::vector<ValueType>& in) {
  const bool variadic_op = n.op == "Sum" || n.op == "Max" || n.op == "Min" || n.op == "Mean";
  PM_OP_CHECK(n, variadic_op ? !in.empty() : in.size() == 2, "wrong number of inputs");
  Dims s = in[0].shape;
  for (std::size_t i = 1; i < in.size(); ++i) {
    PM_OP_CHECK(n, in[i].dtype == in[0].dtype || n.op == "Pow",
                "input dtypes differ: " + dtype_name(in[0].dtype) + " vs " + dtype_name(in[i].dtype));
    s = broadcast_shapes(n, s, in[i].shape);
  }
  return {vt(in[0].dtype, s)};
}
std::vector<ValueType> infer_compare(const Node& n, const std::vector<ValueType>& in) {
  auto out = infer_binary(n, in);
  out[0].dtype = DType::kBool;
  return out;
}

// Calls f(out_index, a_index, b_index) for every output element, walking the last dim in
// the inner loop.
template <class F>
void for_each_broadcast(const Dims& out, const Dims& sa, const Dims& sb, F f) {
  if (out.empty()) {
    f(0, 0, 0);
    return;
  }
  auto ta = broadcast_strides(sa, out), tb = broadcast_strides(sb, out);
  const std::size_t r = out.size();
  const std::int64_t inner = out[r - 1];
  const std::int64_t outer = dims_product(out) / std::max<std::int64_t>(inner, 1);
  if (inner == 0) return;
  std::vector<std::int64_t> idx(r, 0);
  for (std::int64_t o = 0; o < outer; ++o) {
    std::int64_t ia = 0, ib = 0;
    for (std::size_t d = 0; d + 1 < r; ++d) {
      ia += idx[d] * ta[d];
      ib += idx[d] * tb[d];
    }
    for (std::int64_t k = 0; k < inner; ++k) f(o * inner + k, ia + k * ta[r - 1], ib + k * tb[r - 1]);
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

template <class T, class R, class F>
void binary_typed(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  R* po = out.ptr<R>();
  const std::int64_t count = out.numel();
  if (a.shape() == b.shape()) {
    for (std::int64_t i = 0; i < count; ++i) po[i] = f(pa[i], pb[i]);
    return;
  }
  // Common broadcasts without index arithmetic: b repeats over a's leading dims
  // (a per-channel constant on NHWC, a scalar), or b is constant over a's trailing dims
  // (a per-channel scale on NCHW).
  if (a.shape() == out.shape()) {
    const Dims& os = out.shape();
    Dims bs(os.size() - std::min(os.size(), b.shape().size()), 1);
    bs.insert(bs.end(), b.shape().begin(), b.shape().end());
    std::size_t lead = 0;
    while (lead < bs.size() && bs[lead] == 1) ++lead;
    bool suffix = true;
    for (std::size_t d = lead; d < bs.size(); ++d) suffix = suffix && bs[d] == os[d];
    if (suffix) {
      const std::int64_t period = std::max<std::int64_t>(b.numel(), 1);
      for (std::int64_t i = 0; i < count; i += period)
        for (std::int64_t j = 0; j < period && i + j < count; ++j) po[i + j] = f(pa[i + j], pb[j]);
      return;
    }
    std::size_t tail = bs.size();
    while (tail > 0 && bs[tail - 1] == 1) --tail;
    bool prefix = true;
    for (std::size_t d = 0; d < tail; ++d) prefix = prefix && bs[d] == os[d];
    if (prefix) {
      std::int64_t inner = 1;
      for (std::size_t d = tail; d < os.size(); ++d) inner *= os[d];
      for (std::int64_t i = 0, q = 0; i < count; i += inner, ++q)
        for (std::int64_t j = 0; j < inner; ++j) po[i + j] = f(pa[i + j], pb[q]);
      return;
    }
  }
  for_each_broadcast(out.shape(), a.shape(), b.shape(),
                     [&](std::int64_t o, std::int64_t ia, std::int64_t ib) { po[o] = f(pa[ia], pb[ib]); });
}

template <class F>
void binary_any(const Node& n, const Tensor& a, const Tensor& b, Tensor& out, F f) {
  switch (a.dtype()) {
    case DType::kF32: binary_typed<float, float>(a, b, out, f); break;
    case DType::kI64: binary_typed<std::int64_t, std::int64_t>(a, b, out, f); break;
    case DType::kI32: binary_typed<std::int32_t, std::int32_t>(a, b, out, f); break;
    case DType::kF64: binary_typed<double, double>(a, b, out, f); break;
    // 8-bit integers wrap around, as numpy (and ONNX) define it.
    case DType::kU8: binary_typed<std::uint8_t, std::uint8_t>(a, b, out, [&](auto x, auto y) { return static_cast<std::uint8_t>(f(x, y)); }); break;
    case DType::kI8: binary_typed<std::int8_t, std::int8_t>(a, b, out, [&](auto x, auto y) { return static_cast<std::int8_t>(f(x, y)); }); break;
    default: op_fail(n, "dtype " + dtype_name(a.dtype()) + " not supported");
  }
}

// Variadic ops (Sum/Max/Min/Mean) fold inputs pairwise into the output.
template <class F>
void variadic(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out, F f) {
  Tensor acc = in[0]->clone();
  for (std::size_t i = 1; i < in.size(); ++i) {
    Dims s = broadcast_shapes(n, acc.shape(), in[i]->shape());
    Tensor next(acc.dtype(), s);
    binary_any(n, acc, *in[i], next, f);
    acc = next;
  }
  if (acc.shape() == out[0].shape()) {
    std::memcpy(out[0].data(), acc.data(), acc.nbytes());
  } else {  // a single input smaller than the broadcast result cannot happen; guard anyway
    op_fail(n, "internal: variadic shape mismatch");
  }
}

void ref_Add(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  binary_any(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x + y; });
}
void ref_Sub(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  binary_any(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x - y; });
}
void ref_Mul(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  binary_any(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x * y; });
}
void ref_Div(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  if (in[0]->dtype() == DType::kF32 || in[0]->dtype() == DType::kF64) {
    binary_any(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x / y; });
  } else {  // integer division: guard against division by zero (undefined in C++)
    binary_any(n, *in[0], *in[1], out[0], [](auto x, auto y) { return y == 0 ? decltype(x)(0) : x / y; });
  }
}
void ref_Pow(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  PM_OP_CHECK(n, in[0]->dtype() == DType::kF32, "Pow supports float32 bases");
  Tensor e = *in[1];
  if (e.dtype() != DType::kF32) {  // integer exponents are common in exports
    Tensor f(DType::kF32, e.shape());
    auto v = e.dtype() == DType::kF64 ? std::vector<std::int64_t>{} : to_int64s(e);
    for (std::int64_t i = 0; i < e.numel(); ++i)
      f.ptr<float>()[i] = e.dtype() == DType::kF64 ? float(e.ptr<double>()[i]) : float(v[i]);
    e = f;
  }
  binary_typed<float, float>(*in[0], e, out[0], [](float x, float y) {
    if (y == 2.f) return x * x;
    if (y == 3.f) return x * x * x;
    return std::pow(x, y);
  });
}
void ref_Sum(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  variadic(n, in, out, [](auto x, auto y) { return x + y; });
}
void ref_Max(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  variadic(n, in, out, [](auto x, auto y) { return x > y ? x : y; });
}
void ref_Min(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  variadic(n, in, out, [](auto x, auto y) { return x < y ? x : y; });
}
void ref_Mean(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  variadic(n, in, out, [](auto x, auto y) { return x + y; });
  float* p = out[0].ptr<float>();
  for (std::int64_t i = 0; i < out[0].numel(); ++i) p[i] /= float(in.size());
}

template <class F>
void compare(const Node& n, const Tensor& a, const Tensor& b, Tensor& out, F f) {
  switch (a.dtype()) {
    case DType::kF32: binary_typed<float, bool>(a, b, out, f); break;
    case DType::kI64: binary_typed<std::int64_t, bool>(a, b, out, f); break;
    case DType::kI32: binary_typed<std::int32_t, bool>(a, b, out, f); break;
    default: op_fail(n, "dtype " + dtype_name(a.dtype()) + " not supported");
  }
}
void ref_Equal(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  compare(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x == y; });
}
void ref_Less(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  compare(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x < y; });
}
void ref_Greater(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  compare(n, *in[0], *in[1], out[0], [](auto x, auto y) { return x > y; });
}

void ref_PRelu(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  binary_typed<float, float>(*in[0], *in[1], out[0], [](float x, float s) { return x >= 0.f ? x : s * x; });
}

}  // namespace

void register_elementwise_ops(OpTable& t) {
  for (OpDef d : {OpDef{"Relu", infer_same, ref_Relu}, OpDef{"Sigmoid", infer_same, ref_Sigmoid},
                  OpDef{"Tanh", infer_same, ref_Tanh}, OpDef{"Erf", infer_same, ref_Erf},
                  OpDef{"Sqrt", infer_same, ref_Sqrt}, OpDef{"Exp", infer_same, ref_Exp},
                  OpDef{"Log", infer_same, ref_Log}, OpDef{"Neg", infer_same, ref_Neg},
                  OpDef{"Abs", infer_same, ref_Abs}, OpDef{"Reciprocal", infer_same, ref_Reciprocal},
                  OpDef{"Floor", infer_same, ref_Floor}, OpDef{"Ceil", infer_same, ref_Ceil},
                  OpDef{"Softsign", infer_same, ref_Softsign}, OpDef{"Softplus", infer_same, ref_Softplus},
                  OpDef{"HardSwish", infer_same, ref_HardSwish}, OpDef{"LeakyRelu", infer_same, ref_LeakyRelu},
                  OpDef{"Elu", infer_same, ref_Elu}, OpDef{"Selu", infer_same, ref_Selu},
                  OpDef{"HardSigmoid", infer_same, ref_HardSigmoid}, OpDef{"Gelu", infer_same, ref_Gelu},
                  OpDef{"Clip", infer_same, ref_Clip},
                  OpDef{"Identity", infer_same, ref_Copy, true}, OpDef{"Dropout", infer_same, ref_Copy, true},
                  OpDef{"Add", infer_binary, ref_Add}, OpDef{"Sub", infer_binary, ref_Sub},
                  OpDef{"Mul", infer_binary, ref_Mul}, OpDef{"Div", infer_binary, ref_Div},
                  OpDef{"Pow", infer_binary, ref_Pow}, OpDef{"Sum", infer_binary, ref_Sum},
                  OpDef{"Max", infer_binary, ref_Max}, OpDef{"Min", infer_binary, ref_Min},
                  OpDef{"Mean", infer_binary, ref_Mean}, OpDef{"PRelu", infer_binary, ref_PRelu},
                  OpDef{"Equal", infer_compare, ref_Equal}, OpDef{"Less", infer_compare, ref_Less},
                  OpDef{"Greater", infer_compare, ref_Greater}})
    t.add(d);
}

}  // namespace pm::engine
