// QuantizeLinear / DequantizeLinear against values worked out by hand: rounding half to
// even, saturation, NaN, zero points, per-axis scales, int32 biases; on the default and
// the reference engine (Q/DQ have only reference kernels; the graph around them differs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "graph/graph.h"
#include "graph_builder.h"
#include "int8_sessions.h"
#include "ops/op_registry.h"
#include "pixelmill/engine.h"
#include "pixelmill/error.h"

namespace pm::engine::test {
namespace {

template <class T>
Tensor tensor(DType dtype, Dims shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  for (std::size_t i = 0; i < values.size(); ++i) t.ptr<T>()[i] = values[i];
  return t;
}

// Runs b on `inputs` in both modes; the two must agree bit for bit.
std::vector<Tensor> run_both(const GraphBuilder& b, const std::string& tag, const std::vector<Tensor>& inputs) {
  const std::string path = b.save(tag);
  EngineOptions ref_opts;
  ref_opts.reference = true;
  Session fast(Model::load(path));
  Session ref(Model::load(path, ref_opts));
  auto got = fast.run(inputs);
  auto want = ref.run(inputs);
  std::remove(path.c_str());
  EXPECT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
    EXPECT_EQ(got[i].dtype(), want[i].dtype());
    EXPECT_EQ(got[i].nbytes(), want[i].nbytes());
    EXPECT_EQ(0, std::memcmp(got[i].data(), want[i].data(), got[i].nbytes())) << tag << " output " << i;
  }
  return got;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.ptr<T>(), t.ptr<T>() + t.numel());
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const std::vector<float> kX = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 1000.f, -1000.f, kNaN};

TEST(Quantize, RoundsHalfToEvenSaturatesAndSendsNaNToTheZeroPoint) {
  for (const bool signed_zp : {true, false}) {
    GraphBuilder b(13);
    b.input("x", {9});
    b.constant("s", tensor<float>(DType::kF32, {}, {1.f}));
    if (signed_zp) {
      b.constant("z", tensor<std::int8_t>(DType::kI8, {}, {0}));
    } else {
      b.constant("z", tensor<std::uint8_t>(DType::kU8, {}, {3}));
    }
    b.node("QuantizeLinear", {"x", "s", "z"}, {"q"});
    b.node("DequantizeLinear", {"q", "s", "z"}, {"y"});
    b.output("q");
    b.output("y");
    const auto out = run_both(b, "q8", {tensor<float>(DType::kF32, {9}, kX)});
    ASSERT_EQ(out.size(), 2u);
    if (signed_zp) {
      ASSERT_EQ(out[0].dtype(), DType::kI8);
      EXPECT_EQ(values<std::int8_t>(out[0]), (std::vector<std::int8_t>{-2, -2, 0, 0, 2, 2, 127, -128, 0}));
      EXPECT_EQ(values<float>(out[1]), (std::vector<float>{-2, -2, 0, 0, 2, 2, 127, -128, 0}));
    } else {
      ASSERT_EQ(out[0].dtype(), DType::kU8);
      EXPECT_EQ(values<std::uint8_t>(out[0]), (std::vector<std::uint8_t>{1, 1, 3, 3, 5, 5, 255, 0, 3}));
      EXPECT_EQ(values<float>(out[1]), (std::vector<float>{-2, -2, 0, 0, 2, 2, 252, -3, 0}));
    }
  }
}

TEST(Quantize, NoZeroPointMeansUint8Zero) {
  GraphBuilder b(13);
  b.input("x", {3});
  b.constant("s", tensor<float>(DType::kF32, {}, {0.5f}));
  b.node("QuantizeLinear", {"x", "s"}, {"q"});
  b.output("q");
  const auto out = run_both(b, "q_nozp", {tensor<float>(DType::kF32, {3}, {-1.f, 0.75f, 200.f})});
  ASSERT_EQ(out[0].dtype(), DType::kU8);
  EXPECT_EQ(values<std::uint8_t>(out[0]), (std::vector<std::uint8_t>{0, 2, 255}));  // 1.5 -> 2
}

TEST(Quantize, PerAxisScalesAndZeroPoints) {
  for (const std::int64_t axis : {1, -1}) {
    GraphBuilder b(13);
    b.input("x", {2, 3});
    b.constant("s", tensor<float>(DType::kF32, {3}, {1.f, 2.f, 4.f}));
    b.constant("z", tensor<std::int8_t>(DType::kI8, {3}, {0, 1, -1}));
    GraphBuilder::i(b.node("QuantizeLinear", {"x", "s", "z"}, {"q"}), "axis", axis);
    GraphBuilder::i(b.node("DequantizeLinear", {"q", "s", "z"}, {"y"}), "axis", axis);
    b.output("q");
    b.output("y");
    const auto out = run_both(b, "q_axis", {tensor<float>(DType::kF32, {2, 3}, {4, 4, 4, -4, -4, -4})});
    EXPECT_EQ(values<std::int8_t>(out[0]), (std::vector<std::int8_t>{4, 3, 0, -4, -1, -2}));
    EXPECT_EQ(values<float>(out[1]), (std::vector<float>{4, 4, 4, -4, -4, -4}));
  }
}

TEST(Quantize, DequantizesInt32Biases) {
  GraphBuilder b(13);
  b.input("x", {3}, false, onnx::TensorProto::INT32);
  b.constant("s", tensor<float>(DType::kF32, {}, {0.5f}));
  b.node("DequantizeLinear", {"x", "s"}, {"y"});
  b.output("y");
  const auto out = run_both(b, "dq_i32", {tensor<std::int32_t>(DType::kI32, {3}, {100, -7, 0})});
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{50.f, -3.5f, 0.f}));
}

TEST(Quantize, ScalesThatDoNotFitTheAxisAreRefused) {
  GraphBuilder b(13);
  b.input("x", {2, 3});
  b.constant("s", tensor<float>(DType::kF32, {2}, {1.f, 2.f}));
  b.node("QuantizeLinear", {"x", "s"}, {"q"});
  b.output("q");
  const std::string path = b.save("q_bad_axis");
  try {
    Session s(Model::load(path));
    s.run({Tensor(DType::kF32, {2, 3})});
    ADD_FAILURE() << "two scales for an axis of 3 were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scales for axis"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace pm::engine::test

namespace pm::engine::test {
namespace {

// A QDQ convolution as quantize_static writes it: x -> Q -> DQ, int8 weights (one scale
// per output channel) -> DQ, int32 bias -> DQ, then Conv.
// `tail`: then Add(x) (a residual; needs the output's shape) and Relu, which the plan
// passes fuse into pm.QConv as post-ops.
GraphBuilder qdq_conv(std::int64_t c, std::int64_t o, std::int64_t k, std::int64_t stride, std::int64_t group,
                      std::uint8_t zero, bool bias, bool tail = false) {
  GraphBuilder b(13);
  b.input("x", {2, c, 15, 15});
  b.constant("sx", tensor<float>(DType::kF32, {}, {0.03f}));
  b.constant("zx", tensor<std::uint8_t>(DType::kU8, {}, {zero}));
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"q"});
  b.node("DequantizeLinear", {"q", "sx", "zx"}, {"xd"});
  Tensor w(DType::kI8, {o, c / group, k, k});
  for (std::int64_t i = 0; i < w.numel(); ++i) w.ptr<std::int8_t>()[i] = static_cast<std::int8_t>((i * 37 + 11) % 255 - 127);
  std::vector<float> sw, sb;
  std::vector<std::int32_t> bq;
  for (std::int64_t i = 0; i < o; ++i) {
    sw.push_back(0.002f + 0.0005f * static_cast<float>(i % 7));
    sb.push_back(0.03f * sw.back());
    bq.push_back(static_cast<std::int32_t>((i * 977) % 4001) - 2000);
  }
  b.constant("w", w);
  b.constant("sw", tensor<float>(DType::kF32, {o}, sw));
  b.constant("zw", Tensor(DType::kI8, {o}));
  GraphBuilder::i(b.node("DequantizeLinear", {"w", "sw", "zw"}, {"wd"}), "axis", 0);
  std::vector<std::string> conv_in{"xd", "wd"};
  if (bias) {
    b.constant("b", tensor<std::int32_t>(DType::kI32, {o}, bq));
    b.constant("sb", tensor<float>(DType::kF32, {o}, sb));
    GraphBuilder::i(b.node("DequantizeLinear", {"b", "sb"}, {"bd"}), "axis", 0);
    conv_in.push_back("bd");
  }
  auto& conv = b.node("Conv", conv_in, {tail ? "y0" : "y"});
  GraphBuilder::ints(conv, "kernel_shape", {k, k});
  GraphBuilder::ints(conv, "strides", {stride, stride});
  GraphBuilder::ints(conv, "pads", {k / 2, k / 2, k / 2, k / 2});
  GraphBuilder::i(conv, "group", group);
  if (tail) {
    b.node("Add", {"y0", "x"}, {"y1"});
    b.node("Relu", {"y1"}, {"y"});
  }
  b.output("y");
  return b;
}

// --precision int8 (pm.QConv on oneDNN: quantising reorder + int8 convolution) against
// the QDQ graph as written on the reference kernels, and against pm.QConv's own reference
// twin: the same values but for activations at a rounding boundary, which x * (1/scale)
// and x / scale may send one step apart.
TEST(QConv, Int8KernelMatchesTheQdqGraph) {
  struct Case {
    std::int64_t c, o, k, stride, group;
    std::uint8_t zero;
    bool bias;
    bool tail = false;  // residual Add and Relu, fused as post-ops
  };
  for (const Case& t : {Case{16, 32, 3, 1, 1, 0, true}, Case{8, 24, 3, 2, 1, 131, true},
                        Case{3, 16, 7, 2, 1, 128, false}, Case{32, 32, 3, 1, 32, 0, true},
                        Case{24, 48, 1, 1, 1, 7, true}, Case{16, 16, 3, 1, 1, 0, true, true},
                        Case{32, 32, 3, 1, 32, 5, false, true}}) {
    const std::string tag = "qconv_" + std::to_string(t.c) + "_" + std::to_string(t.k) + "_" +
                            std::to_string(t.group) + "_" + std::to_string(t.zero) + (t.tail ? "_tail" : "");
    const std::string path = qdq_conv(t.c, t.o, t.k, t.stride, t.group, t.zero, t.bias, t.tail).save(tag);
    Tensor x(DType::kF32, {2, t.c, 15, 15});
    for (std::int64_t i = 0; i < x.numel(); ++i)
      x.ptr<float>()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i))) * (t.zero ? 3.f : 4.f) +
                          (t.zero ? 0.f : 3.5f);
    const Int8Run run = run_int8_and_reference(path, {x});
    const Tensor& got = run.got[0];
    const Tensor& want = run.want[0];
    bool unfused = false;
    for (const auto& k : run.report.kernels) unfused |= k.op == "Add" || k.op == "Relu";
    EXPECT_TRUE(ran_on_int8_kernel(run.report, "pm.QConv")) << tag << ": the convolution did not run on a oneDNN int8 kernel";
    EXPECT_FALSE(unfused) << tag << ": the residual or the activation was not fused";
    ASSERT_EQ(got.shape(), want.shape()) << tag;
    // One activation a step away changes an output by at most sx * max|w| * sw.
    double worst = 0, scale = 0;
    for (std::int64_t i = 0; i < got.numel(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(got.ptr<float>()[i]) - want.ptr<float>()[i]));
      scale = std::max(scale, std::abs(static_cast<double>(want.ptr<float>()[i])));
    }
    EXPECT_LT(worst, 2 * 0.03 * 127 * 0.005 + 1e-4 * scale) << tag << " (largest |y| " << scale << ")";
    EXPECT_GT(scale, 1.0) << tag;

    // pm.QConv's reference twin computes the QDQ graph's value exactly: the same Q, DQ and
    // Conv reference arithmetic, in one node.
    Node n;
    n.op = "pm.QConv";
    n.name = tag;
    auto ints = [](std::vector<std::int64_t> v) {
      Attr a;
      a.kind = Attr::Kind::kInts;
      a.ints = std::move(v);
      return a;
    };
    auto one_int = [](std::int64_t v) {
      Attr a;
      a.kind = Attr::Kind::kInt;
      a.i = v;
      return a;
    };
    Attr sx;
    sx.kind = Attr::Kind::kFloat;
    sx.f = 0.03f;
    n.attrs = {{"kernel_shape", ints({t.k, t.k})}, {"strides", ints({t.stride, t.stride})},
               {"pads", ints({t.k / 2, t.k / 2, t.k / 2, t.k / 2})}, {"group", one_int(t.group)},
               {"x_scale", sx}, {"x_zero_point", one_int(t.zero)}, {"x_signed", one_int(0)}};
    Tensor w(DType::kI8, {t.o, t.c / t.group, t.k, t.k});
    for (std::int64_t i = 0; i < w.numel(); ++i) w.ptr<std::int8_t>()[i] = static_cast<std::int8_t>((i * 37 + 11) % 255 - 127);
    Tensor sw(DType::kF32, {t.o}), bias(DType::kF32, {t.o});
    for (std::int64_t i = 0; i < t.o; ++i) {
      sw.ptr<float>()[i] = 0.002f + 0.0005f * static_cast<float>(i % 7);
      bias.ptr<float>()[i] = static_cast<float>((i * 977) % 4001 - 2000) * (0.03f * sw.ptr<float>()[i]);
    }
    n.inputs = {"x", "w", "sw"};
    std::vector<const Tensor*> ins{&x, &w, &sw};
    std::vector<ValueType> types{{DType::kF32, x.shape()}, {DType::kI8, w.shape()}, {DType::kF32, sw.shape()}};
    if (t.bias) {
      n.inputs.push_back("b");
      ins.push_back(&bias);
      types.push_back({DType::kF32, bias.shape()});
    }
    if (t.tail) {  // the residual is x itself; the activation is fused_activation's attribute
      if (!t.bias) {
        n.inputs.push_back("");
        ins.push_back(nullptr);
        types.push_back({});
      }
      n.inputs.push_back("x");
      ins.push_back(&x);
      types.push_back({DType::kF32, x.shape()});
      Attr relu;
      relu.kind = Attr::Kind::kString;
      relu.s = "Relu";
      n.attrs["activation"] = relu;
    }
    const OpDef* def = find_op("pm.QConv");
    ASSERT_NE(def, nullptr);
    const auto shapes = infer_op(n, types);
    std::vector<Tensor> twin{Tensor(DType::kF32, shapes.at(0).shape)};
    def->ref(n, ins, twin);
    ASSERT_EQ(twin[0].shape(), want.shape()) << tag;
    EXPECT_EQ(0, std::memcmp(twin[0].data(), want.data(), want.nbytes())) << tag << ": the twin differs from the QDQ graph";
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace pm::engine::test
