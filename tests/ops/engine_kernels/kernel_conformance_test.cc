// Each case: a small graph whose ops go to oneDNN kernels (blocked layouts, fused
// post-ops), compared with the same graph on the reference kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <oneapi/dnnl/dnnl.hpp>

#include "graph_builder.h"
#include "pixelmill/engine.h"
#include "tensor_compare.h"

namespace pm::engine::test {
namespace {

using GB = GraphBuilder;
using pm::test::max_rel_diff;

// Whether some kernel choice of `report` matches `pred`; `describe` lists them all for
// failure messages.
template <class Pred>
bool any_kernel(const PlanReport& report, Pred pred) {
  return std::any_of(report.kernels.begin(), report.kernels.end(), pred);
}

std::string describe(const PlanReport& report) {
  std::string s;
  for (const auto& k : report.kernels) s += k.op + " '" + k.node + "' -> " + k.implementation + "\n";
  return s;
}

bool is_winograd(const KernelChoice& k) {
  return k.backend == KernelBackend::kOneDnn && k.implementation.find("wino") != std::string::npos;
}

void expect_same(const GraphBuilder& b, const std::string& tag, const std::vector<Tensor>& inputs,
                 float tol = 1e-4f) {
  const std::string path = b.save(tag);
  EngineOptions ref_opts;
  ref_opts.reference = true;
  Session fast(Model::load(path));
  Session ref(Model::load(path, ref_opts));
  auto got = fast.run(inputs);
  auto want = ref.run(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape()) << tag;
    EXPECT_LT(max_rel_diff(got[i], want[i]), tol) << tag << " output " << i;
  }
  std::remove(path.c_str());
}

// x -> Conv(3x3, 16) -> op under test: the op reads a blocked layout.
GraphBuilder conv_then(const Dims& x) {
  GB b;
  b.input("x", x);
  b.weight("w", {16, x[1], 3, 3}, 1);
  b.weight("b", {16}, 2);
  auto& c = b.node("Conv", {"x", "w", "b"}, {"c"});
  GB::ints(c, "pads", {1, 1, 1, 1});
  return b;
}

struct PoolCase {
  std::string op;
  std::int64_t k, s, p;
  int ceil, include_pad;
};

TEST(Kernels, PoolingOnBlockedLayout) {
  const PoolCase cases[] = {{"MaxPool", 3, 2, 1, 0, 0},     {"MaxPool", 2, 2, 0, 1, 0},
                            {"AveragePool", 3, 2, 1, 0, 1}, {"AveragePool", 3, 2, 1, 0, 0},
                            {"AveragePool", 3, 2, 0, 1, 0}, {"AveragePool", 2, 2, 1, 1, 1},
                            {"GlobalAveragePool", 0, 0, 0, 0, 0}, {"GlobalMaxPool", 0, 0, 0, 0, 0}};
  int k = 0;
  for (const auto& pc : cases) {
    GB b = conv_then({2, 8, 15, 13});
    auto& n = b.node(pc.op, {"c"}, {"y"});
    if (pc.k) {
      GB::ints(n, "kernel_shape", {pc.k, pc.k});
      GB::ints(n, "strides", {pc.s, pc.s});
      GB::ints(n, "pads", {pc.p, pc.p, pc.p, pc.p});
      if (pc.ceil) GB::i(n, "ceil_mode", 1);
      if (pc.op == "AveragePool") GB::i(n, "count_include_pad", pc.include_pad);
    }
    b.output("y");
    expect_same(b, "pool" + std::to_string(k++), {random_input({2, 8, 15, 13}, 3)});
  }
}

TEST(Kernels, ActivationsOnBlockedLayout) {
  for (std::string op : {"Relu", "LeakyRelu", "Sigmoid", "HardSwish", "Tanh", "Elu", "Gelu", "Exp", "Abs",
                         "HardSigmoid", "Softplus"}) {
    GB b = conv_then({1, 4, 9, 11});
    // A second consumer keeps the activation from being fused into the conv.
    b.node(op, {"c"}, {"y"});
    b.node("Neg", {"c"}, {"z"});
    b.output("y");
    b.output("z");
    expect_same(b, "act_" + op, {random_input({1, 4, 9, 11}, 4)});
  }
}

TEST(Kernels, FusedPostOps) {
  // Conv+BN+Relu, then Conv+BN+Add(residual)+Relu, Conv+Clip(0,6): the fusion passes.
  GB b;
  b.input("x", {-1, 16, 12, 12}, true);
  for (int i = 0; i < 3; ++i) {
    const std::string s = std::to_string(i);
    b.weight("w" + s, {16, 16, 3, 3}, 10 + i, 0.2f);
    b.weight("g" + s, {16}, 20 + i, 0.2f, 1.f);
    b.weight("be" + s, {16}, 30 + i, 0.1f);
    b.weight("m" + s, {16}, 40 + i, 0.1f);
    b.weight("v" + s, {16}, 50 + i, 0.2f, 1.f);
  }
  auto conv_bn = [&](const std::string& in, int i, const std::string& out) {
    const std::string s = std::to_string(i);
    auto& c = b.node("Conv", {in, "w" + s}, {out + "_c"});
    GB::ints(c, "pads", {1, 1, 1, 1});
    b.node("BatchNormalization", {out + "_c", "g" + s, "be" + s, "m" + s, "v" + s}, {out});
  };
  conv_bn("x", 0, "a");
  b.node("Relu", {"a"}, {"ar"});
  conv_bn("ar", 1, "bb");
  b.node("Add", {"bb", "x"}, {"sum"});
  b.node("Relu", {"sum"}, {"sr"});
  conv_bn("sr", 2, "cc");
  Tensor lo(DType::kF32, {}), hi(DType::kF32, {});
  *hi.ptr<float>() = 6.f;
  b.constant("lo", lo);
  b.constant("hi", hi);
  b.node("Clip", {"cc", "lo", "hi"}, {"y"});
  b.output("y");
  expect_same(b, "fused_b1", {random_input({1, 16, 12, 12}, 5)});
  expect_same(b, "fused_b3", {random_input({3, 16, 12, 12}, 6)});
}

Tensor scalar_of(float v) {
  Tensor t(DType::kF32, {});
  *t.ptr<float>() = v;
  return t;
}

TEST(Kernels, SiluAndDecomposedHardSwishFuseIntoTheConv) {
  // YOLOX's SiLU: Conv -> Sigmoid -> Mul(conv, sigmoid); Paddle's HardSwish:
  // Conv -> Add(3) -> Clip(0, 6) -> Mul(conv, clip) -> Div(6). 1x1 and stride-2 3x3 convs
  // take them as swish/hardswish post-ops; a 3x3 stride-1 conv stays Winograd with the
  // activation as its own ops.
  GB b;
  b.input("x", {-1, 8, 10, 10}, true);
  b.weight("w1", {16, 8, 1, 1}, 61);
  b.weight("b1", {16}, 62);
  b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  b.node("Sigmoid", {"c1"}, {"s1"});
  b.node("Mul", {"s1", "c1"}, {"y1"});
  b.weight("w2", {16, 16, 3, 3}, 63);
  auto& c2 = b.node("Conv", {"y1", "w2"}, {"c2"});
  GB::ints(c2, "pads", {1, 1, 1, 1});
  GB::ints(c2, "strides", {2, 2});
  b.constant("three", scalar_of(3.f));
  b.constant("zero", scalar_of(0.f));
  b.constant("six", scalar_of(6.f));
  b.node("Add", {"c2", "three"}, {"a2"});
  b.node("Clip", {"a2", "zero", "six"}, {"k2"});
  b.node("Mul", {"c2", "k2"}, {"m2"});
  b.node("Div", {"m2", "six"}, {"y2"});
  b.weight("w3", {16, 16, 3, 3}, 64);
  auto& c3 = b.node("Conv", {"y2", "w3"}, {"c3"});
  GB::ints(c3, "pads", {1, 1, 1, 1});
  b.node("Sigmoid", {"c3"}, {"s3"});
  b.node("Mul", {"c3", "s3"}, {"y"});
  b.output("y");
  expect_same(b, "swish", {random_input({2, 8, 10, 10}, 65)});
  const std::string path = b.save("swish_plan");
  Session s(Model::load(path));
  s.run({random_input({2, 8, 10, 10}, 66)});
  std::remove(path.c_str());
  const PlanReport r = s.plan_report();
  int fused = 0, winograd_convs = 0;
  for (const auto& k : r.kernels) {
    if (k.op == "pm.FusedConv" && k.backend == KernelBackend::kOneDnn) ++fused;
    if (is_winograd(k)) ++winograd_convs;
  }
  EXPECT_EQ(fused, 2) << describe(r);
  EXPECT_EQ(winograd_convs, 1) << describe(r);
  EXPECT_FALSE(any_kernel(r, [](const KernelChoice& k) { return k.op == "Div" || k.op == "Clip"; })) << describe(r);
}

// GeM pooling's Clip(eps) -> Pow(p) on oneDNN: exponents 2 and 3 are computed as
// x*x and (x*x)*x, bit for bit the reference's values, by jitted kernels (oneDNN's general
// power calls powf per element); other exponents stay on oneDNN's pow.
TEST(Kernels, GemPowerIsExactAndJittedForSmallIntegerExponents) {
  for (float p : {2.f, 3.f, 0.5f, 2.5f}) {
    for (bool blocked : {false, true}) {
      const Dims x{2, 4, 9, 11};
      GB b = blocked ? conv_then(x) : GB{};
      if (!blocked) b.input("c", x);
      b.constant("eps", scalar_of(1e-6f));
      b.constant("p", scalar_of(p));
      b.node("Clip", {"c", "eps"}, {"k"});
      b.node("Pow", {"k", "p"}, {"y"});
      b.node("Neg", {"k"}, {"z"});  // keeps the Clip from fusing into the conv
      b.output("y");
      b.output("z");
      const std::string tag = "gem_pow_" + std::to_string(static_cast<int>(p * 10)) + (blocked ? "_blocked" : "");
      const std::vector<Tensor> in{random_input(x, 70)};
      const bool exact = !blocked && (p == 2.f || p == 3.f);
      expect_same(b, tag, in);
      if (exact) {  // and bit for bit
        const std::string path = b.save(tag + "_bits");
        EngineOptions ref_opts;
        ref_opts.reference = true;
        Session fast(Model::load(path)), ref(Model::load(path, ref_opts));
        const Tensor got = fast.run(in)[0], want = ref.run(in)[0];
        ASSERT_EQ(got.numel(), want.numel());
        EXPECT_EQ(std::memcmp(got.data(), want.data(), static_cast<std::size_t>(got.numel()) * sizeof(float)), 0) << tag;
        const PlanReport r = fast.plan_report();
        EXPECT_TRUE(any_kernel(r, [](const KernelChoice& k) {
          return k.op == "Pow" && k.backend == KernelBackend::kOneDnn && k.implementation.find("ref") == std::string::npos;
        })) << describe(r);
        std::remove(path.c_str());
      }
    }
  }
}

TEST(Kernels, SqueezeExcitationBroadcastMul) {
  GB b = conv_then({2, 8, 10, 10});
  b.node("GlobalAveragePool", {"c"}, {"p"});
  b.weight("w2", {16, 16, 1, 1}, 7);
  b.node("Conv", {"p", "w2"}, {"q"});
  b.node("Sigmoid", {"q"}, {"s"});
  b.node("Mul", {"c", "s"}, {"y"});
  b.weight("bias", {16, 1, 1}, 8);
  b.node("Add", {"bias", "y"}, {"z"});  // first operand broadcasts: swapped for oneDNN
  b.output("z");
  expect_same(b, "se", {random_input({2, 8, 10, 10}, 9)});
}

TEST(Kernels, BinaryOnBlockedLayouts) {
  for (std::string op : {"Add", "Sub", "Mul", "Max", "Min"}) {
    GB b = conv_then({2, 4, 7, 9});
    b.weight("w2", {16, 4, 1, 1}, 11);
    b.node("Conv", {"x", "w2"}, {"d"});
    b.node(op, {"c", "d"}, {"y"});
    b.node("Neg", {"c"}, {"z"});  // keeps c from being fused as a residual
    b.output("y");
    b.output("z");
    expect_same(b, "bin_" + op, {random_input({2, 4, 7, 9}, 12)});
  }
}

TEST(Kernels, GemmVariants) {
  struct G {
    int trans_b;
    int bias;  // 0 none, 1 [N], 2 [1,N]
    float alpha;
  };
  int k = 0;
  for (G g : {G{1, 1, 1.f}, G{0, 1, 1.f}, G{1, 0, 1.f}, G{0, 2, 1.f}, G{1, 1, 2.f}}) {
    GB b;
    b.input("a", {5, 24});
    b.weight("w", g.trans_b ? Dims{10, 24} : Dims{24, 10}, 13);
    std::vector<std::string> in{"a", "w"};
    if (g.bias) {
      b.weight("c", g.bias == 1 ? Dims{10} : Dims{1, 10}, 14);
      in.push_back("c");
    }
    auto& n = b.node("Gemm", in, {"y"});
    GB::i(n, "transB", g.trans_b);
    GB::f(n, "alpha", g.alpha);
    b.output("y");
    expect_same(b, "gemm" + std::to_string(k++), {random_input({5, 24}, 15)});
  }
}

TEST(Kernels, ConcatAndResizeAfterConv) {
  GB b = conv_then({1, 3, 8, 8});
  b.weight("w2", {8, 3, 1, 1}, 16);
  b.node("Conv", {"x", "w2"}, {"d"});
  auto& cat = b.node("Concat", {"c", "d"}, {"cat"});
  GB::i(cat, "axis", 1);
  Tensor scales(DType::kF32, {4});
  for (int i = 0; i < 4; ++i) scales.ptr<float>()[i] = i < 2 ? 1.f : 2.f;
  b.constant("scales", scales);
  auto& r = b.node("Resize", {"cat", "", "scales"}, {"y"});
  GB::s(r, "mode", "linear");
  b.output("y");
  expect_same(b, "cat_resize", {random_input({1, 3, 8, 8}, 17)});
}

TEST(Kernels, StandaloneBatchNormAfterConcat) {
  // DenseNet's pattern: concat of blocked conv outputs, then BN + Relu that no conv absorbs.
  GB b = conv_then({2, 8, 9, 9});
  b.weight("w2", {16, 8, 3, 3}, 18);
  auto& c2 = b.node("Conv", {"x", "w2"}, {"d"});
  GB::ints(c2, "pads", {1, 1, 1, 1});
  auto& cat = b.node("Concat", {"c", "d", "x"}, {"cat"});
  GB::i(cat, "axis", 1);
  b.weight("g", {40}, 19, 0.2f, 1.f);
  b.weight("be", {40}, 20, 0.1f);
  b.weight("m", {40}, 21, 0.1f);
  b.weight("v", {40}, 22, 0.2f, 1.f);
  b.node("BatchNormalization", {"cat", "g", "be", "m", "v"}, {"bn"});
  b.node("Relu", {"bn"}, {"y"});
  b.output("y");
  expect_same(b, "bn_concat", {random_input({2, 8, 9, 9}, 23)});
}

struct ConvTCase {
  std::int64_t k, s, d, group, pad, out_pad;
  bool bias;
  bool on_dnnl;  // false: output_padding past the pads (a negative pad for oneDNN) stays on ref
};

TEST(Kernels, ConvTransposeOnOneDnnMatchesReference) {
  // CenterFace's 2x2 stride-2 upsampling, and the attributes that change oneDNN's
  // description: pads, output_padding (a smaller right pad), dilation, groups, no bias.
  const ConvTCase cases[] = {{2, 2, 1, 1, 0, 0, false, true}, {3, 2, 1, 1, 1, 1, true, true},
                             {4, 2, 1, 2, 1, 0, true, true},   {3, 1, 2, 1, 0, 0, true, true},
                             {3, 3, 1, 4, 2, 2, false, true},  {3, 3, 1, 4, 0, 2, true, false}};
  int index = 0;
  for (const ConvTCase& c : cases) {
    const std::string tag = "convt" + std::to_string(index++);
    GB b = conv_then({2, 8, 7, 9});  // the ConvTranspose reads conv's blocked output
    b.weight("wt", {16, 12 / c.group, c.k, c.k}, 40 + index);
    std::vector<std::string> ins{"c", "wt"};
    if (c.bias) {
      b.weight("bt", {12}, 50 + index);
      ins.push_back("bt");
    }
    auto& t = b.node("ConvTranspose", ins, {"y"});
    GB::ints(t, "strides", {c.s, c.s});
    GB::ints(t, "dilations", {c.d, c.d});
    GB::ints(t, "pads", {c.pad, c.pad, c.pad, c.pad});
    GB::ints(t, "output_padding", {c.out_pad, c.out_pad});
    GB::i(t, "group", c.group);
    b.output("y");
    expect_same(b, tag, {random_input({2, 8, 7, 9}, 60 + index)});
    const std::string path = b.save(tag + "_plan");
    Session s(Model::load(path));
    s.run({random_input({2, 8, 7, 9}, 1)});
    std::remove(path.c_str());
    const PlanReport r = s.plan_report();
    EXPECT_EQ(any_kernel(r, [](const KernelChoice& k) {
                return k.op == "ConvTranspose" && k.backend == KernelBackend::kOneDnn;
              }),
              c.on_dnnl)
        << tag << "\n" << describe(r);
  }
}

TEST(Kernels, MatMulWithConstantWeights) {
  GB b;
  b.input("a", {2, 5, 7, 24});
  b.weight("w", {24, 12}, 24);
  b.node("MatMul", {"a", "w"}, {"y"});
  b.weight("w2", {12, 24}, 25);
  b.node("MatMul", {"y", "w2"}, {"z"});
  b.output("z");
  expect_same(b, "matmul", {random_input({2, 5, 7, 24}, 26)});
}

TEST(Kernels, NhwcPixelPrologueIsFusedExactly) {
  // uint8 NHWC pixels -> Cast -> Sub(mean) -> Div(std) -> Transpose -> Conv (the default
  // model's prologue), fused into one pass: bit-identical to the chain.
  GB b;
  b.input("img", {-1, 11, 13, 3}, true, onnx::TensorProto::UINT8);
  auto& cast = b.node("Cast", {"img"}, {"f"});
  GB::i(cast, "to", 1);
  Tensor mean(DType::kF32, {3}), stdv(DType::kF32, {1, 1, 1, 3});
  for (int c = 0; c < 3; ++c) {
    mean.ptr<float>()[c] = 100.f + 20.f * float(c);
    stdv.ptr<float>()[c] = 50.f + 7.f * float(c);
  }
  b.constant("mean", mean);
  b.constant("std", stdv);
  b.node("Sub", {"f", "mean"}, {"centred"});
  b.node("Div", {"centred", "std"}, {"scaled"});
  auto& tr = b.node("Transpose", {"scaled"}, {"nchw"});
  GB::ints(tr, "perm", {0, 3, 1, 2});
  b.output("nchw");
  b.weight("w", {8, 3, 3, 3}, 27);
  b.node("Conv", {"nchw", "w"}, {"y"});
  b.output("y");
  Tensor img(DType::kU8, {2, 11, 13, 3});
  for (std::int64_t i = 0; i < img.numel(); ++i) img.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(i * 37);
  const std::string path = b.save("prologue");
  EngineOptions ref_opts;
  ref_opts.reference = true;
  auto got = Session(Model::load(path)).run({img});
  auto want = Session(Model::load(path, ref_opts)).run({img});
  EXPECT_EQ(0, std::memcmp(got[0].data(), want[0].data(), got[0].nbytes()));
  EXPECT_LT(max_rel_diff(got[1], want[1]), 1e-4f);
  std::remove(path.c_str());
}

TEST(Kernels, WinogradMatchesDirectAndReference) {
  // 3x3 stride-1 convolutions with bias, residual sum and ReLU: Winograd (auto) and
  // direct against the reference kernels.
  GB b;
  b.input("x", {-1, 64, 14, 14}, true);
  b.weight("w1", {64, 64, 3, 3}, 31, 0.1f);
  b.weight("b1", {64}, 32, 0.1f);
  b.weight("w2", {64, 64, 3, 3}, 33, 0.1f);
  auto& c1 = b.node("Conv", {"x", "w1", "b1"}, {"a"});
  GB::ints(c1, "pads", {1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"});
  auto& c2 = b.node("Conv", {"ar", "w2"}, {"c"});
  GB::ints(c2, "pads", {1, 1, 1, 1});
  b.node("Add", {"c", "x"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.output("y");
  const std::string path = b.save("conv3x3");
  const Tensor x = random_input({3, 64, 14, 14}, 34);
  EngineOptions ref_opts, auto_opts, direct_opts;
  ref_opts.reference = true;
  direct_opts.conv_algorithm = ConvAlgorithm::kDirect;
  auto want = Session(Model::load(path, ref_opts)).run({x});
  Session auto_session(Model::load(path, auto_opts));
  Session direct_session(Model::load(path, direct_opts));
  auto fast = auto_session.run({x});
  auto direct = direct_session.run({x});
  EXPECT_LT(max_rel_diff(fast[0], want[0]), 1e-4f);
  EXPECT_LT(max_rel_diff(direct[0], want[0]), 1e-4f);
  const PlanReport direct_report = direct_session.plan_report();
  EXPECT_FALSE(any_kernel(direct_report, is_winograd)) << describe(direct_report);
  // oneDNN 2.6 has its fp32 Winograd kernel on AVX-512 CPUs.
  if (dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core) {
    const PlanReport auto_report = auto_session.plan_report();
    EXPECT_TRUE(any_kernel(auto_report, is_winograd)) << describe(auto_report);
  }
  std::remove(path.c_str());
}

TEST(Kernels, DepthwiseFusedIntoPointwise) {
  // MobileNetV2 blocks: 1x1 expand + ReLU6 feeding a 3x3 depthwise + ReLU6, stride 1 and
  // 2, fused into one pm.FusedConvDw (oneDNN's depthwise post-op) where oneDNN has the
  // kernel; against the reference kernels either way.
  for (std::int64_t stride : {1, 2}) {
    GB b = inverted_residual(16, 56, stride);
    const std::string path = b.save("ir_s" + std::to_string(stride));
    const Tensor x = random_input({4, 16, 56, 56}, 40 + static_cast<unsigned>(stride));
    EngineOptions ref_opts, fast_opts;
    ref_opts.reference = true;
    fast_opts.threads = 2;  // oneDNN's choice of the fused kernel depends on the thread count
    auto want = Session(Model::load(path, ref_opts)).run({x});
    Session fast(Model::load(path, fast_opts));
    auto got = fast.run({x});
    ASSERT_EQ(got.size(), 2u);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].shape(), want[i].shape()) << "stride " << stride;
      EXPECT_LT(max_rel_diff(got[i], want[i]), 1e-4f) << "stride " << stride << " output " << i;
    }
    // oneDNN 2.6 has the fused 1x1 + depthwise fp32 kernel on AVX-512 CPUs.
    if (dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core) {
      const PlanReport report = fast.plan_report();
      EXPECT_TRUE(any_kernel(report, [](const KernelChoice& k) {
        return k.op == "pm.FusedConvDw" && k.backend == KernelBackend::kOneDnn;
      })) << "stride " << stride << "\n" << describe(report);
    }
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace pm::engine::test
