// Reference kernels on hand-checked values, and the oneDNN convolution against the
// reference over random shapes (groups, strides, dilations, pads, fused post-ops).
#include <gtest/gtest.h>

#include <cmath>

#include "exec/dnnl/dnnl_kernels.h"
#include "ops/conv.h"
#include "ops/half.h"
#include "ops/op_registry.h"
#include "pixelmill/error.h"
#include "tensor_compare.h"

namespace pm::engine {
namespace {

using pm::test::max_abs_diff;

Attr ints(std::vector<std::int64_t> v) {
  Attr a;
  a.kind = Attr::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attr one(std::int64_t v) {
  Attr a;
  a.kind = Attr::Kind::kInt;
  a.i = v;
  return a;
}

Tensor filled(Dims s, unsigned seed) {
  Tensor t(DType::kF32, s);
  std::uint32_t x = seed * 747796405u + 2891336453u;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    t.ptr<float>()[i] = float(x >> 8) / float(1 << 24) * 2.f - 1.f;
  }
  return t;
}

// Runs op `n` on the reference kernel.
std::vector<Tensor> run_ref(const Node& n, const std::vector<Tensor>& in) {
  const OpDef* def = find_op(n.op);
  std::vector<ValueType> types;
  std::vector<const Tensor*> ptrs;
  for (const auto& t : in) {
    types.push_back({t.dtype(), t.shape(), &t});
    ptrs.push_back(&t);
  }
  auto out_t = def->infer(n, types);
  std::vector<Tensor> out;
  for (auto& t : out_t) out.emplace_back(t.dtype, t.shape);
  def->ref(n, ptrs, out);
  return out;
}

Node make_node(const std::string& op, std::size_t n_in, std::size_t n_out = 1) {
  Node n;
  n.op = op;
  n.name = "test";
  for (std::size_t i = 0; i < n_in; ++i) n.inputs.push_back("i" + std::to_string(i));
  for (std::size_t i = 0; i < n_out; ++i) n.outputs.push_back("o" + std::to_string(i));
  return n;
}

TEST(RefOps, BroadcastAdd) {
  Tensor a(DType::kF32, {2, 3});
  Tensor b(DType::kF32, {3});
  for (int i = 0; i < 6; ++i) a.ptr<float>()[i] = float(i);
  for (int i = 0; i < 3; ++i) b.ptr<float>()[i] = float(10 * i);
  auto y = run_ref(make_node("Add", 2), {a, b});
  ASSERT_EQ(y[0].shape(), (Dims{2, 3}));
  const float want[] = {0, 11, 22, 3, 14, 25};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[0].ptr<float>()[i], want[i]);
}

TEST(RefOps, TransposeNhwcToNchw) {
  Tensor x(DType::kF32, {1, 2, 2, 3});
  for (int i = 0; i < 12; ++i) x.ptr<float>()[i] = float(i);
  Node n = make_node("Transpose", 1);
  n.attrs["perm"] = ints({0, 3, 1, 2});
  auto y = run_ref(n, {x});
  ASSERT_EQ(y[0].shape(), (Dims{1, 3, 2, 2}));
  const float want[] = {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(y[0].ptr<float>()[i], want[i]);
}

TEST(RefOps, ReduceMeanAndL2) {
  Tensor x(DType::kF32, {1, 2, 2});
  const float v[] = {3, 4, 0, 2};
  for (int i = 0; i < 4; ++i) x.ptr<float>()[i] = v[i];
  Node mean = make_node("ReduceMean", 1);
  mean.attrs["axes"] = ints({1, 2});
  mean.attrs["keepdims"] = one(0);
  auto m = run_ref(mean, {x});
  ASSERT_EQ(m[0].shape(), (Dims{1}));
  EXPECT_FLOAT_EQ(m[0].ptr<float>()[0], 2.25f);
  Node l2 = make_node("ReduceL2", 1);
  l2.attrs["axes"] = ints({2});
  auto r = run_ref(l2, {x});
  ASSERT_EQ(r[0].shape(), (Dims{1, 2, 1}));
  EXPECT_FLOAT_EQ(r[0].ptr<float>()[0], 5.f);
  EXPECT_FLOAT_EQ(r[0].ptr<float>()[1], 2.f);
}

TEST(RefOps, ExpandAndShape) {
  Tensor x(DType::kF32, {2, 1});
  x.ptr<float>()[0] = 1;
  x.ptr<float>()[1] = 2;
  Tensor shape(DType::kI64, {2});
  shape.ptr<std::int64_t>()[0] = 2;
  shape.ptr<std::int64_t>()[1] = 3;
  auto y = run_ref(make_node("Expand", 2), {x, shape});
  ASSERT_EQ(y[0].shape(), (Dims{2, 3}));
  EXPECT_EQ(y[0].ptr<float>()[2], 1.f);
  EXPECT_EQ(y[0].ptr<float>()[3], 2.f);
  auto s = run_ref(make_node("Shape", 1), {y[0]});
  EXPECT_EQ(s[0].ptr<std::int64_t>()[1], 3);
}

TEST(RefOps, HalfConversions) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f})
    EXPECT_EQ(half_to_float(float_to_half(f)), f) << f;
  EXPECT_EQ(float_to_half(1.f), 0x3c00);
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(1e6f))));
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.5f)), 1.5f);
}

TEST(RefOps, ConvKnownValues) {
  // 1x1x3x3 input, 2x2 kernel of ones, no padding: sums of 2x2 windows.
  Tensor x(DType::kF32, {1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) x.ptr<float>()[i] = float(i + 1);
  Tensor w(DType::kF32, {1, 1, 2, 2});
  for (int i = 0; i < 4; ++i) w.ptr<float>()[i] = 1.f;
  auto y = run_ref(make_node("Conv", 2), {x, w});
  ASSERT_EQ(y[0].shape(), (Dims{1, 1, 2, 2}));
  const float want[] = {12, 16, 24, 28};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[0].ptr<float>()[i], want[i]);
}

TEST(RefOps, UnknownOpIsNotRegistered) { EXPECT_EQ(find_op("NoSuchOp"), nullptr); }

struct ConvCase {
  Dims x;
  std::int64_t oc, k, stride, dilation, pad, group;
  bool bias, residual;
  std::string act;
};

TEST(DnnlConv, MatchesReference) {
  const ConvCase cases[] = {
      {{1, 3, 17, 13}, 8, 3, 1, 1, 1, 1, true, false, ""},
      {{2, 16, 15, 15}, 16, 3, 2, 1, 1, 16, true, false, "Relu"},        // depthwise, stride 2
      {{1, 8, 12, 12}, 16, 1, 1, 1, 0, 1, false, true, ""},              // pointwise + residual
      {{2, 8, 11, 9}, 8, 3, 1, 2, 2, 2, true, true, "Relu"},             // grouped, dilated
      {{1, 4, 10, 10}, 6, 5, 3, 1, 0, 1, true, false, "Clip"},           // big stride, no pad
      {{3, 32, 8, 8}, 64, 3, 1, 1, 1, 1, true, false, "HardSwish"},
  };
  int seed = 1;
  for (const auto& c : cases) {
    Node n = make_node("pm.FusedConv", 4);
    if (!c.residual) n.inputs.resize(3);
    if (!c.bias) n.inputs[2] = "";
    n.attrs["strides"] = ints({c.stride, c.stride});
    n.attrs["dilations"] = ints({c.dilation, c.dilation});
    n.attrs["pads"] = ints({c.pad, c.pad, c.pad, c.pad});
    n.attrs["group"] = one(c.group);
    if (!c.act.empty()) {
      Attr a;
      a.kind = Attr::Kind::kString;
      a.s = c.act;
      n.attrs["activation"] = a;
      Attr lo, hi;
      lo.kind = hi.kind = Attr::Kind::kFloat;
      lo.f = -0.25f;
      hi.f = 0.5f;
      n.attrs["activation_alpha"] = lo;
      n.attrs["activation_beta"] = hi;
    }
    Tensor x = filled(c.x, seed++);
    Tensor w = filled({c.oc, c.x[1] / c.group, c.k, c.k}, seed++);
    Tensor b = filled({c.oc}, seed++);
    std::vector<Tensor> in{x, w, c.bias ? b : Tensor()};
    // Shape of the output from the reference inference, then the residual.
    std::vector<ValueType> types{{x.dtype(), x.shape(), &x}, {w.dtype(), w.shape(), &w}, {DType::kF32, {c.oc}, c.bias ? &b : nullptr}};
    Node plain = n;
    plain.inputs.resize(3);
    auto out_t = find_op("Conv")->infer(plain, types);
    Tensor r = filled(out_t[0].shape, seed++);
    if (c.residual) {
      in.push_back(r);
      types.push_back({r.dtype(), r.shape(), nullptr});
    }
    std::vector<const Tensor*> ptrs;
    for (auto& t : in) ptrs.push_back(t.empty() ? nullptr : &t);
    std::vector<Tensor> want{Tensor(DType::kF32, out_t[0].shape)};
    find_op("pm.FusedConv")->ref(n, ptrs, want);
    std::string why;
    auto k = make_dnnl_conv(n, types, out_t, EngineOptions{}, /*plain_io=*/true, why);
    ASSERT_TRUE(k) << why;
    std::vector<Tensor> got{Tensor(DType::kF32, out_t[0].shape)};
    k->run(ptrs, got);
    EXPECT_LT(max_abs_diff(got[0], want[0]), 1e-4f) << "case x=" << dims_str(c.x) << " k=" << c.k << " group=" << c.group << " via " << k->name();
  }
}

}  // namespace
}  // namespace pm::engine
