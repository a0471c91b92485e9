// pm.QGemm: QDQ Gemm and MatMul under --precision int8. The load pass fuse_qdq_matmul
// turns the QDQ pattern into pm.QGemm and leaves what does not fit as written; the oneDNN
// int8 kernel (quantising reorder + int8 matmul) is checked against pm.QGemm's reference
// twin, and the twin against the QDQ graph as written, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph_builder.h"
#include "int8_sessions.h"
#include "onnx/loader.h"
#include "ops/op_registry.h"
#include "passes/passes.h"
#include "pixelmill/engine.h"

namespace pm::engine::test {
namespace {

struct Case {
  std::string op = "Gemm";  // or "MatMul"
  Dims x;                   // [M, K] for a Gemm; any rank for a MatMul
  std::int64_t n = 0;
  bool trans_b = false;
  float alpha = 1.f, beta = 1.f;
  enum class Bias { kNone, kInt32, kFloat } bias = Bias::kNone;
  bool x_signed = false;
  std::int64_t zero = 0;     // x's zero point
  bool one_w_scale = false;  // one scale for all of W instead of one per column
  // Cases the pass must leave alone.
  bool trans_a = false;
  std::int8_t w_zero = 0;
};

std::string tag_of(const Case& t) {
  std::string s = t.op + "_k" + std::to_string(t.x.back()) + "_n" + std::to_string(t.n) + "_m" +
                  std::to_string(t.x.front()) + (t.trans_b ? "_tb" : "") + (t.x_signed ? "_s8" : "_u8") + "_z" +
                  std::to_string(t.zero) + "_b" + std::to_string(static_cast<int>(t.bias));
  return s + (t.trans_a ? "_ta" : "") + (t.w_zero ? "_wz" : "") + (t.one_w_scale ? "_1s" : "");
}

constexpr float kSx = 0.02f;

float w_scale(std::int64_t c) { return 0.002f + 0.0005f * static_cast<float>(c % 7); }

Tensor weights(const Case& t) {
  const std::int64_t k = t.x.back();
  Tensor w(DType::kI8, t.trans_b ? Dims{t.n, k} : Dims{k, t.n});
  for (std::int64_t i = 0; i < w.numel(); ++i) w.ptr<std::int8_t>()[i] = static_cast<std::int8_t>((i * 37 + 11) % 255 - 127);
  return w;
}

// x -> QuantizeLinear -> DequantizeLinear, W int8 -> DequantizeLinear (axis: the output
// columns), C (int32 behind DequantizeLinear, or float32), then the Gemm or MatMul.
GraphBuilder qdq_gemm(const Case& t) {
  GraphBuilder b(13);
  // transA: the graph input is [K, M] so that the Gemm is still [M, K] x [K, N].
  b.input("x", t.trans_a ? Dims{t.x[1], t.x[0]} : t.x);
  Tensor sx(DType::kF32, {});
  *sx.ptr<float>() = kSx;
  b.constant("sx", sx);
  if (t.x_signed) {
    Tensor z(DType::kI8, {});
    *z.ptr<std::int8_t>() = static_cast<std::int8_t>(t.zero);
    b.constant("zx", z);
  } else {
    Tensor z(DType::kU8, {});
    *z.ptr<std::uint8_t>() = static_cast<std::uint8_t>(t.zero);
    b.constant("zx", z);
  }
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"q"});
  b.node("DequantizeLinear", {"q", "sx", "zx"}, {"xd"});
  b.constant("w", weights(t));
  const std::int64_t scales = t.one_w_scale ? 1 : t.n;
  Tensor sw(DType::kF32, t.one_w_scale ? Dims{} : Dims{t.n}), zw(DType::kI8, sw.shape());
  for (std::int64_t c = 0; c < scales; ++c) sw.ptr<float>()[c] = w_scale(c);
  zw.ptr<std::int8_t>()[0] = t.w_zero;
  b.constant("sw", sw);
  b.constant("zw", zw);
  GraphBuilder::i(b.node("DequantizeLinear", {"w", "sw", "zw"}, {"wd"}), "axis", t.trans_b ? 0 : 1);
  std::vector<std::string> in{"xd", "wd"};
  if (t.bias == Case::Bias::kInt32) {
    Tensor bq(DType::kI32, {t.n}), sb(DType::kF32, {t.n});
    for (std::int64_t c = 0; c < t.n; ++c) {
      bq.ptr<std::int32_t>()[c] = static_cast<std::int32_t>((c * 977) % 4001) - 2000;
      sb.ptr<float>()[c] = kSx * w_scale(t.one_w_scale ? 0 : c);
    }
    b.constant("bq", bq);
    b.constant("sb", sb);
    GraphBuilder::i(b.node("DequantizeLinear", {"bq", "sb"}, {"c"}), "axis", 0);
    in.push_back("c");
  } else if (t.bias == Case::Bias::kFloat) {
    b.weight("c", {t.n}, 7, 2.f);
    in.push_back("c");
  }
  auto& mm = b.node(t.op, in, {"y"});
  if (t.op == "Gemm") {
    if (t.trans_b) GraphBuilder::i(mm, "transB", 1);
    if (t.trans_a) GraphBuilder::i(mm, "transA", 1);
    if (t.alpha != 1.f) GraphBuilder::f(mm, "alpha", t.alpha);
    if (t.beta != 1.f) GraphBuilder::f(mm, "beta", t.beta);
  }
  b.output("y");
  return b;
}

// Activations around the zero point, spanning most of the quantised range.
Tensor activations(const Case& t) {
  Tensor x = random_input(t.trans_a ? Dims{t.x[1], t.x[0]} : t.x, 11);
  const float centre = kSx * static_cast<float>((t.x_signed ? 0 : 128) - t.zero);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.ptr<float>()[i] = centre + 2.3f * x.ptr<float>()[i];
  return x;
}

std::vector<std::string> ops_after_load(const std::string& path, Precision precision) {
  Graph g = load_onnx(path);
  EngineOptions opts;
  opts.precision = precision;
  PassContext ctx{opts, nullptr};
  run_pipeline(g, load_passes(opts), ctx);
  std::vector<std::string> ops;
  for (const auto& n : g.nodes) ops.push_back(n.op);
  return ops;
}

bool has(const std::vector<std::string>& ops, const std::string& op) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

// pm.QGemm's reference twin on the inputs the pass gives it.
Tensor twin(const Case& t, const Tensor& x) {
  Node n;
  n.op = "pm.QGemm";
  n.name = tag_of(t);
  auto num = [](float v) {
    Attr a;
    a.kind = Attr::Kind::kFloat;
    a.f = v;
    return a;
  };
  auto one_int = [](std::int64_t v) {
    Attr a;
    a.kind = Attr::Kind::kInt;
    a.i = v;
    return a;
  };
  n.attrs = {{"x_scale", num(kSx)}, {"x_zero_point", one_int(t.zero)}, {"x_signed", one_int(t.x_signed)}};
  if (t.op == "Gemm") {
    n.attrs["alpha"] = num(t.alpha);
    n.attrs["beta"] = num(t.beta);
    n.attrs["transB"] = one_int(t.trans_b);
  } else {
    n.attrs["matmul"] = one_int(1);
  }
  const Tensor w = weights(t);
  Tensor sw(DType::kF32, {t.n}), bias(DType::kF32, {t.n});
  const Tensor c = random_input({t.n}, 7);
  for (std::int64_t i = 0; i < t.n; ++i) {
    sw.ptr<float>()[i] = w_scale(t.one_w_scale ? 0 : i);
    bias.ptr<float>()[i] = t.bias == Case::Bias::kInt32
                               ? static_cast<float>((i * 977) % 4001 - 2000) * (kSx * w_scale(t.one_w_scale ? 0 : i))
                               : 2.f * c.ptr<float>()[i];
  }
  n.inputs = {"x", "w", "sw"};
  std::vector<const Tensor*> ins{&x, &w, &sw};
  std::vector<ValueType> types{{DType::kF32, x.shape()}, {DType::kI8, w.shape()}, {DType::kF32, sw.shape()}};
  if (t.bias != Case::Bias::kNone) {
    n.inputs.push_back("b");
    ins.push_back(&bias);
    types.push_back({DType::kF32, bias.shape()});
  }
  const auto shapes = infer_op(n, types);
  std::vector<Tensor> y{Tensor(DType::kF32, shapes.at(0).shape)};
  find_op("pm.QGemm")->ref(n, ins, y);
  return y[0];
}

// --precision int8 (pm.QGemm on oneDNN) against pm.QGemm's reference twin, and the twin
// against the QDQ graph as written on the reference kernels (bit for bit).
//
// Tolerance: oneDNN quantises with x * (1/scale), the spec with x / scale, so an
// activation at a rounding boundary may land one step away; each such element moves an
// output by |alpha| * sx * |W[k, n]| * sw[n] <= |alpha| * sx * 127 * max sw. Allowing two
// steps per output covers any case where two of an output's K activations both sit on a
// boundary (a handful of elements in these tests, if any). The rest is float rounding:
// oneDNN's int32 sums are exact, the reference sums float products in double, and the
// per-column scale alpha * sx * sw[n] and the bias / scale are rounded once each in
// float32; 1e-5 of the largest |y| bounds that here with a wide margin.
TEST(QGemm, Int8KernelMatchesTheReferenceTwin) {
  using B = Case::Bias;
  std::vector<Case> cases;
  auto add = [&](Case c) { cases.push_back(c); };
  add({.x = {1, 37}, .n = 21, .bias = B::kInt32});
  add({.x = {16, 37}, .n = 21, .bias = B::kInt32});
  add({.x = {16, 50}, .n = 33, .trans_b = true, .alpha = 0.75f, .beta = 1.5f, .bias = B::kFloat, .zero = 131});
  add({.x = {1, 130}, .n = 70, .bias = B::kNone, .x_signed = true, .zero = -5});
  add({.x = {16, 130}, .n = 70, .trans_b = true, .bias = B::kInt32, .x_signed = true, .zero = 0});
  add({.x = {16, 300}, .n = 1000, .trans_b = true, .bias = B::kInt32, .zero = 128, .one_w_scale = true});
  add({.x = {3, 19}, .n = 17, .trans_b = true, .alpha = -0.5f, .bias = B::kFloat, .x_signed = true, .zero = 9});
  add({.op = "MatMul", .x = {16, 45}, .n = 29, .zero = 3});
  add({.op = "MatMul", .x = {2, 5, 48}, .n = 40, .x_signed = true, .zero = -2, .one_w_scale = true});
  for (const Case& t : cases) {
    const std::string tag = tag_of(t);
    const std::string path = qdq_gemm(t).save(tag);
    const Tensor x = activations(t);
    const Int8Run run = run_int8_and_reference(path, {x});
    std::remove(path.c_str());
    const Tensor& got = run.got[0];
    const Tensor& want = run.want[0];
    EXPECT_TRUE(ran_on_int8_kernel(run.report, "pm.QGemm")) << tag << ": the matmul did not run on a oneDNN int8 kernel";

    const Tensor y = twin(t, x);
    ASSERT_EQ(y.shape(), want.shape()) << tag;
    EXPECT_EQ(0, std::memcmp(y.data(), want.data(), want.nbytes())) << tag << ": the twin differs from the QDQ graph";
    ASSERT_EQ(got.shape(), y.shape()) << tag;
    double worst = 0, largest = 0;
    int off = 0;  // outputs beyond float rounding: an activation a step away
    for (std::int64_t i = 0; i < y.numel(); ++i)
      largest = std::max(largest, std::abs(static_cast<double>(y.ptr<float>()[i])));
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      const double d = std::abs(static_cast<double>(got.ptr<float>()[i]) - y.ptr<float>()[i]);
      worst = std::max(worst, d);
      off += d > 1e-5 * largest;
    }
    const double step = std::abs(t.alpha) * kSx * 127 * 0.005;
    EXPECT_LT(worst, 2 * step + 1e-5 * largest) << tag << " (largest |y| " << largest << ")";
    EXPECT_LE(off, std::max<std::int64_t>(1, y.numel() / 100)) << tag << ": too many outputs a step away";
    EXPECT_GT(largest, 1.0) << tag;
  }
}

TEST(QGemm, PassFusesQdqGemmAndMatMulUnderInt8Only) {
  using B = Case::Bias;
  for (const Case& t : {Case{.x = {4, 24}, .n = 10, .trans_b = true, .bias = B::kInt32},
                        Case{.x = {4, 24}, .n = 10, .bias = B::kFloat},
                        Case{.op = "MatMul", .x = {4, 24}, .n = 10}}) {
    const std::string tag = "pass_" + tag_of(t);
    const std::string path = qdq_gemm(t).save(tag);
    const auto int8 = ops_after_load(path, Precision::kInt8);
    const auto f32 = ops_after_load(path, Precision::kF32);
    std::remove(path.c_str());
    EXPECT_TRUE(has(int8, "pm.QGemm")) << tag;
    EXPECT_FALSE(has(int8, t.op)) << tag;
    EXPECT_FALSE(has(int8, "DequantizeLinear")) << tag << ": the weights' or bias' DQ is left over";
    EXPECT_FALSE(has(f32, "pm.QGemm")) << tag;
    EXPECT_TRUE(has(f32, t.op)) << tag;
  }
}

// Non-zero weight zero points and transA do not fit pm.QGemm: the Gemm runs as written
// (fake-quantised float32) and gives the reference's value.
TEST(QGemm, PassLeavesWhatDoesNotFit) {
  for (const Case& t : {Case{.x = {4, 24}, .n = 10, .trans_b = true, .w_zero = 3},
                        Case{.x = {4, 24}, .n = 10, .trans_a = true}}) {
    const std::string tag = "leave_" + tag_of(t);
    const std::string path = qdq_gemm(t).save(tag);
    const auto int8 = ops_after_load(path, Precision::kInt8);
    EXPECT_FALSE(has(int8, "pm.QGemm")) << tag;
    EXPECT_TRUE(has(int8, "Gemm")) << tag;
    const Int8Run run = run_int8_and_reference(path, {activations(t)});
    std::remove(path.c_str());
    const Tensor& got = run.got[0];
    const Tensor& want = run.want[0];
    ASSERT_EQ(got.shape(), want.shape()) << tag;
    for (std::int64_t i = 0; i < got.numel(); ++i)
      ASSERT_NEAR(got.ptr<float>()[i], want.ptr<float>()[i], 1e-4 * (1 + std::abs(want.ptr<float>()[i]))) << tag;
  }
}

}  // namespace
}  // namespace pm::engine::test
