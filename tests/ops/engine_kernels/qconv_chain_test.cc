// Quantised activations between int8 convolutions (passes/quantize_between_qconvs.cc): a
// pm.QConv whose readers are all pm.QConvs quantising alike writes uint8/int8 and its
// readers skip their quantising reorder. Checked three ways on MobileNetV2's block
// (1x1 expand + ReLU6 -> 3x3 depthwise + ReLU6 -> 1x1 project -> a 3x3 convolution):
// which nodes the pass marks (and which it must leave), the marked graph on the reference
// kernels against the QDQ graph as written (bit for bit), and --precision int8 on oneDNN
// against the QDQ graph as written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
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

struct Chain {
  std::int64_t stride = 1;        // of the depthwise convolution
  bool signed_mid = false;        // the expanded activations quantised to int8 instead of uint8
  bool project_is_output = false;  // the project conv's output is also a graph output
  bool second_reader = false;      // the expand output also read by a 1x1 conv with another scale
  // The expanded activations quantised over [0, 12] instead of [0, 6]: ReLU6's upper bound
  // then falls inside the uint8 range and the int8 kernel must apply it (scaled), not leave
  // it to saturation.
  bool wide_mid = false;
  // One weight scale of the project conv is 0: oneDNN's kernel refuses it and it runs on its
  // reference kernel, which reads the depthwise conv's uint8 output and writes uint8 for the
  // last conv in plain layout (the plan reorders uint8 between layouts).
  bool project_on_reference = false;
};

constexpr std::int64_t kC = 8, kWide = 32, kHw = 12;

// A Q -> DQ pair on `v` (scale s, zero point z, int8 when `is_signed`); returns the DQ output.
std::string qdq(GraphBuilder& b, const std::string& v, const std::string& tag, float s, int z, bool is_signed) {
  Tensor sc(DType::kF32, {});
  *sc.ptr<float>() = s;
  b.constant(tag + "_s", sc);
  if (is_signed) {
    Tensor zt(DType::kI8, {});
    *zt.ptr<std::int8_t>() = static_cast<std::int8_t>(z);
    b.constant(tag + "_z", zt);
  } else {
    Tensor zt(DType::kU8, {});
    *zt.ptr<std::uint8_t>() = static_cast<std::uint8_t>(z);
    b.constant(tag + "_z", zt);
  }
  b.node("QuantizeLinear", {v, tag + "_s", tag + "_z"}, {tag + "_q"});
  b.node("DequantizeLinear", {tag + "_q", tag + "_s", tag + "_z"}, {tag + "_dq"});
  return tag + "_dq";
}

// Conv(x, DQ(int8 W, per-channel scales), DQ(int32 bias)) named `tag`, output `out`.
void qconv(GraphBuilder& b, const std::string& x, const std::string& out, const std::string& tag, float sx,
           std::int64_t o, std::int64_t i, std::int64_t k, std::int64_t stride, std::int64_t group,
           bool zero_scale = false) {
  Tensor w(DType::kI8, {o, i / group, k, k});
  for (std::int64_t e = 0; e < w.numel(); ++e)
    w.ptr<std::int8_t>()[e] = static_cast<std::int8_t>((e * 37 + 11 + o) % 255 - 127);
  Tensor sw(DType::kF32, {o}), zw(DType::kI8, {o}), bq(DType::kI32, {o}), sb(DType::kF32, {o});
  for (std::int64_t c = 0; c < o; ++c) {
    sw.ptr<float>()[c] = (0.004f + 0.001f * static_cast<float>(c % 5)) * (k == 3 && group > 1 ? 2.f : 1.f);
    sb.ptr<float>()[c] = sx * sw.ptr<float>()[c];
    bq.ptr<std::int32_t>()[c] = static_cast<std::int32_t>((c * 977) % 401) - 150;
  }
  if (zero_scale) sw.ptr<float>()[0] = sb.ptr<float>()[0] = 0.f;
  b.constant(tag + "_w", w);
  b.constant(tag + "_sw", sw);
  b.constant(tag + "_zw", zw);
  b.constant(tag + "_b", bq);
  b.constant(tag + "_sb", sb);
  GraphBuilder::i(b.node("DequantizeLinear", {tag + "_w", tag + "_sw", tag + "_zw"}, {tag + "_wd"}), "axis", 0);
  GraphBuilder::i(b.node("DequantizeLinear", {tag + "_b", tag + "_sb"}, {tag + "_bd"}), "axis", 0);
  auto& c = b.node("Conv", {x, tag + "_wd", tag + "_bd"}, {out});
  GraphBuilder::ints(c, "kernel_shape", {k, k});
  GraphBuilder::ints(c, "strides", {stride, stride});
  GraphBuilder::ints(c, "pads", {k / 2, k / 2, k / 2, k / 2});
  GraphBuilder::i(c, "group", group);
}

void relu6(GraphBuilder& b, const std::string& x, const std::string& out) {
  Tensor lo(DType::kF32, {}), hi(DType::kF32, {});
  *lo.ptr<float>() = 0.f;
  *hi.ptr<float>() = 6.f;
  b.constant(out + "_lo", lo);
  b.constant(out + "_hi", hi);
  b.node("Clip", {x, out + "_lo", out + "_hi"}, {out});
}

// x -> [Q/DQ u8 z 128] expand 1x1 + ReLU6 -> [Q/DQ, z 0 (or -128 signed)] depthwise 3x3 +
// ReLU6 -> [Q/DQ] project 1x1 -> [Q/DQ u8 z 120] 3x3 conv -> y.
GraphBuilder chain(const Chain& t) {
  GraphBuilder b(13);
  b.input("x", {2, kC, kHw, kHw});
  const float s0 = 0.03f, s_mid = (t.wide_mid ? 12.f : 6.f) / 255.f, s3 = 0.05f;
  const int z_mid = t.signed_mid ? -128 : 0;
  qconv(b, qdq(b, "x", "q0", s0, 128, false), "e0", "expand", s0, kWide, kC, 1, 1, 1);
  relu6(b, "e0", "e");
  qconv(b, qdq(b, "e", "q1", s_mid, z_mid, t.signed_mid), "d0", "dw", s_mid, kWide, kWide, 3, t.stride, kWide);
  relu6(b, "d0", "d");
  qconv(b, qdq(b, "d", "q2", s_mid, z_mid, t.signed_mid), "p", "project", s_mid, kC, kWide, 1, 1, 1,
        t.project_on_reference);
  qconv(b, qdq(b, "p", "q3", s3, 120, false), "y", "last", s3, kC, kC, 3, 1, 1);
  b.output("y");
  if (t.project_is_output) b.output("p");
  if (t.second_reader) {
    qconv(b, qdq(b, "e", "q4", 0.5f * s_mid, 0, false), "side", "side", 0.5f * s_mid, kC, kWide, 1, 1, 1);
    b.output("side");
  }
  return b;
}

std::string tag_of(const Chain& t) {
  return "qchain_s" + std::to_string(t.stride) + (t.signed_mid ? "_s8" : "_u8") + (t.project_is_output ? "_out" : "") +
         (t.second_reader ? "_two" : "") + (t.wide_mid ? "_wide" : "") + (t.project_on_reference ? "_ref" : "");
}

Tensor chain_input(std::uint64_t seed) {
  Tensor x = random_input({2, kC, kHw, kHw}, static_cast<unsigned>(seed));
  for (std::int64_t i = 0; i < x.numel(); ++i) x.ptr<float>()[i] *= 7.f;  // most of [-3.8, 3.8]
  return x;
}

// The graph after the load and plan passes of --precision int8 (no backend: nothing that
// needs oneDNN is fused), with its types, run on the reference kernels.
struct Passed {
  Graph g;
  std::map<std::string, ValueType> types;
};

Passed plan_graph(const std::string& path, const Dims& x_shape) {
  Passed p;
  p.g = load_onnx(path);
  EngineOptions opts;
  opts.precision = Precision::kInt8;
  PassContext load{opts, nullptr};
  run_pipeline(p.g, load_passes(opts), load);
  specialize_shapes(p.g, {{"x", x_shape}}, p.types);
  PassContext plan{opts, &p.types};
  run_pipeline(p.g, plan_passes(opts), plan);
  return p;
}

std::map<std::string, Tensor> run_reference_kernels(const Passed& p, const Tensor& x) {
  std::map<std::string, Tensor> v = p.g.constants;
  v["x"] = x;
  for (const Node& n : p.g.nodes) {
    std::vector<const Tensor*> ins;
    for (const auto& s : n.inputs) ins.push_back(s.empty() ? nullptr : &v.at(s));
    std::vector<Tensor> outs;
    for (const auto& s : n.outputs) outs.emplace_back(p.types.at(s).dtype, p.types.at(s).shape);
    find_op(n.op)->ref(n, ins, outs);
    for (std::size_t i = 0; i < outs.size(); ++i) v[n.outputs[i]] = outs[i];
  }
  return v;
}

const Node* producer_of(const Graph& g, const std::string& v) {
  for (const Node& n : g.nodes)
    if (!n.outputs.empty() && n.outputs[0] == v) return &n;
  return nullptr;
}

TEST(QConvChain, PassQuantisesBetweenConvolutionsThatQuantiseAlike) {
  const Chain t;
  const std::string path = chain(t).save(tag_of(t));
  const Passed p = plan_graph(path, {2, kC, kHw, kHw});
  std::remove(path.c_str());
  int quantised_out = 0, quantised_in = 0;
  for (const Node& n : p.g.nodes) {
    ASSERT_EQ(n.op, "pm.QConv") << n.name << ": the QDQ chain was not fused";
    quantised_out += n.has_attr("y_scale");
    quantised_in += n.attr_i("x_quantized", 0) != 0;
  }
  // expand -> dw -> project -> last: three links, each written quantised and read as such.
  EXPECT_EQ(quantised_out, 3);
  EXPECT_EQ(quantised_in, 3);
  const Node* expand = producer_of(p.g, "e");
  ASSERT_NE(expand, nullptr);
  EXPECT_FLOAT_EQ(expand->attr_f("y_scale", 0.f), 6.f / 255.f);
  EXPECT_EQ(expand->attr_i("y_zero_point", -1), 0);
  EXPECT_EQ(p.types.at("e").dtype, DType::kU8);
  EXPECT_EQ(p.types.at("p").dtype, DType::kU8);
  EXPECT_EQ(producer_of(p.g, "p")->attr_i("y_zero_point", -1), 120);
  EXPECT_FALSE(producer_of(p.g, "y")->has_attr("y_scale")) << "a graph output must stay float32";
  EXPECT_EQ(p.types.at("y").dtype, DType::kF32);
}

TEST(QConvChain, PassLeavesGraphOutputsAndReadersThatQuantiseOtherwise) {
  // "p" is a graph output: stays float32. "e" is read by the depthwise conv and by a conv
  // with half the scale: stays float32; each reader quantises it itself.
  for (const Chain& t : {Chain{.project_is_output = true}, Chain{.second_reader = true}}) {
    const std::string tag = tag_of(t);
    const std::string path = chain(t).save(tag);
    const Passed p = plan_graph(path, {2, kC, kHw, kHw});
    std::remove(path.c_str());
    const std::string kept = t.project_is_output ? "p" : "e";
    EXPECT_EQ(p.types.at(kept).dtype, DType::kF32) << tag;
    EXPECT_FALSE(producer_of(p.g, kept)->has_attr("y_scale")) << tag;
    for (const Node& n : p.g.nodes) {
      for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        if (n.inputs[i] == kept) {
          EXPECT_EQ(n.attr_i("x_quantized", 0), 0) << tag << ": " << n.name;
        }
      }
    }
    // The other links still are.
    EXPECT_EQ(p.types.at(t.project_is_output ? "e" : "p").dtype, DType::kU8) << tag;
  }
}

// The marked graph on the reference kernels computes the QDQ graph's value bit for bit:
// q(y) is computed once by the producer instead of by each reader.
TEST(QConvChain, ReferenceKernelsOfTheMarkedGraphMatchTheQdqGraphExactly) {
  for (const Chain& t : {Chain{}, Chain{.stride = 2}, Chain{.signed_mid = true}, Chain{.second_reader = true},
                         Chain{.wide_mid = true}}) {
    const std::string tag = tag_of(t);
    const std::string path = chain(t).save(tag);
    const Tensor x = chain_input(5);
    const Passed p = plan_graph(path, x.shape());
    auto v = run_reference_kernels(p, x);
    EngineOptions ref;
    ref.reference = true;
    const auto want = Session(Model::load(path, ref)).run({x});
    std::remove(path.c_str());
    const Tensor& got = v.at("y");
    ASSERT_EQ(got.shape(), want[0].shape()) << tag;
    EXPECT_EQ(0, std::memcmp(got.data(), want[0].data(), want[0].nbytes())) << tag;
    double largest = 0;
    for (std::int64_t i = 0; i < got.numel(); ++i)
      largest = std::max(largest, std::abs(static_cast<double>(want[0].ptr<float>()[i])));
    EXPECT_GT(largest, 0.5) << tag << ": the chain carries no signal";
    // The expanded activations use most of their range (ReLU6 -> 0..255).
    const Tensor& e = v.at("e");
    int top = 0;
    for (std::int64_t i = 0; i < e.numel(); ++i)
      top = std::max(top, t.signed_mid ? e.ptr<std::int8_t>()[i] + 128 : static_cast<int>(e.ptr<std::uint8_t>()[i]));
    EXPECT_GT(top, t.wide_mid ? 64 : 128) << tag;
  }
}

// --precision int8 on oneDNN (u8/s8 written by the convolutions, no reorders between them)
// against the QDQ graph as written on the reference kernels. The cases cover both ways the
// kernel writes q(y) (conv_int8_dnnl.cc): ReLU6 left to uint8 saturation (zero point 0),
// ReLU6 applied with scaled bounds (wide_mid; int8 with zero point -128), and a destination
// zero point (the project conv's output, zero point 120).
//
// Tolerance: oneDNN quantises with x * (1/scale) + zero point after summing in int32, the
// reference with x / scale after summing dequantised products in float, so an intermediate
// element at a rounding boundary may land one step away; each moves the next layer's outputs
// by at most one step's worth (scale x max |w| x w_scale), and such steps propagate. The
// final layer's value is y = s3 * sw * sum, its steps 0.05 * 127 * 0.008 ~ 0.05: allow 4 of
// them at the worst element. One element of the last conv's input a step away moves up to
// kC x 3 x 3 = 72 outputs beyond float rounding (1e-4 of the largest |y|); allow three such
// elements. (These inputs put one or two there, with or without the pass: the same
// arithmetic as the quantising reorders it replaces.)
TEST(QConvChain, Int8KernelsMatchTheQdqGraph) {
  for (const Chain& t : {Chain{}, Chain{.stride = 2}, Chain{.signed_mid = true}, Chain{.wide_mid = true},
                         Chain{.project_on_reference = true}}) {
    const std::string tag = tag_of(t);
    const std::string path = chain(t).save(tag);
    const Tensor x = chain_input(9);
    const Int8Run run = run_int8_and_reference(path, {x});
    std::remove(path.c_str());
    int int8_convs = 0;
    for (const auto& k : run.report.kernels) int8_convs += k.op == "pm.QConv" && k.implementation.rfind("int8 ", 0) == 0;
    EXPECT_EQ(int8_convs, t.project_on_reference ? 3 : 4) << tag << ": not every convolution ran on a oneDNN int8 kernel";
    const Tensor& got = run.got[0];
    const Tensor& want = run.want[0];
    ASSERT_EQ(got.shape(), want.shape()) << tag;
    double worst = 0, largest = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i)
      largest = std::max(largest, std::abs(static_cast<double>(want.ptr<float>()[i])));
    int off = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) {
      const double d = std::abs(static_cast<double>(got.ptr<float>()[i]) - want.ptr<float>()[i]);
      worst = std::max(worst, d);
      off += d > 1e-4 * largest;
    }
    const double step = 0.05 * 127 * 0.008;
    EXPECT_LT(worst, 4 * step) << tag << " (largest |y| " << largest << ")";
    EXPECT_LE(off, 3 * kC * 9) << tag << ": too many outputs a step away";
    EXPECT_GT(largest, 0.5) << tag;
  }
}

}  // namespace
}  // namespace pm::engine::test
