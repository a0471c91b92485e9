// QdqModel on the generated tiny model: targets, the observer's extra outputs, the QDQ
// layout (checked in the serialized ONNX), and the QDQ model on the engine.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "onnx/tensor_proto.h"
#include "pixelmill/engine.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"
#include "pixelmill/qdq.h"

namespace pm::engine {
namespace {

namespace fs = std::filesystem;

class QdqModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("pm_qdq_test_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    path_ = write_tiny_embed(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static Tensor input(int batch, unsigned seed) {
    Tensor t(DType::kF32, {batch, 3, 64, 64});
    std::mt19937 gen(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = n(gen);
    return t;
  }

  // Ranges from the observer on a few batches (min/max).
  static std::map<std::string, ActivationRange> ranges(const QdqModel& q) {
    Session s(q.observer({}));
    std::map<std::string, ActivationRange> r;
    const auto outs = s.run({input(4, 7)});
    const std::size_t first = outs.size() - q.activations().size();
    for (std::size_t a = 0; a < q.activations().size(); ++a) {
      const Tensor& t = outs[first + a];
      ActivationRange x;
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        x.lo = std::min(x.lo, t.ptr<float>()[i]);
        x.hi = std::max(x.hi, t.ptr<float>()[i]);
      }
      r[q.activations()[a]] = x;
    }
    return r;
  }

  static onnx::ModelProto parse(const std::string& bytes) {
    onnx::ModelProto m;
    EXPECT_TRUE(m.ParseFromString(bytes));
    return m;
  }

  static int count_op(const onnx::ModelProto& m, const std::string& op) {
    int n = 0;
    for (const auto& node : m.graph().node()) n += node.op_type() == op;
    return n;
  }

  static double cosine(const Tensor& a, const Tensor& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
      ab += double(a.ptr<float>()[i]) * b.ptr<float>()[i];
      aa += double(a.ptr<float>()[i]) * a.ptr<float>()[i];
      bb += double(b.ptr<float>()[i]) * b.ptr<float>()[i];
    }
    return ab / std::sqrt(aa * bb);
  }

  static std::string dir_, path_;
};

std::string QdqModelTest::dir_, QdqModelTest::path_;

TEST_F(QdqModelTest, FindsTheConvolutionsAndTheGemm) {
  const QdqModel q(path_);
  std::vector<std::string> nodes, acts;
  for (const auto& t : q.targets()) nodes.push_back(t.node);
  EXPECT_EQ(nodes, (std::vector<std::string>{"conv1", "dwconv2", "pwconv3", "conv4", "fc"}));
  EXPECT_EQ(q.activations(), (std::vector<std::string>{"input", "relu1.out", "relu2.out", "relu3.out", "flat.out"}));
  EXPECT_TRUE(q.targets()[1].depthwise);
  EXPECT_FALSE(q.targets()[2].depthwise);
  EXPECT_EQ(q.targets()[4].op, "Gemm");
}

TEST_F(QdqModelTest, ObserverAddsTheActivationsAndKeepsTheOutputs) {
  const QdqModel q(path_);
  const Tensor x = input(2, 3);
  Session plain(Model::load(path_));
  Session obs(q.observer({}));
  const auto want = plain.run({x});
  const auto got = obs.run({x});
  ASSERT_EQ(got.size(), want.size() + q.activations().size());
  ASSERT_EQ(got[0].numel(), want[0].numel());
  for (std::int64_t i = 0; i < want[0].numel(); ++i) EXPECT_EQ(got[0].ptr<float>()[i], want[0].ptr<float>()[i]);
  // The first activation is the graph input itself.
  const Tensor& in = got[want.size()];
  ASSERT_EQ(in.numel(), x.numel());
  for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(in.ptr<float>()[i], x.ptr<float>()[i]);
  // relu outputs are non-negative, and not all zero.
  const Tensor& r1 = got[want.size() + 1];
  float mx = 0;
  for (std::int64_t i = 0; i < r1.numel(); ++i) {
    ASSERT_GE(r1.ptr<float>()[i], 0.f);
    mx = std::max(mx, r1.ptr<float>()[i]);
  }
  EXPECT_GT(mx, 0.f);
}

TEST_F(QdqModelTest, WritesTheQuantizeStaticLayout) {
  const QdqModel q(path_);
  const auto r = ranges(q);
  const auto m = parse(q.qdq_bytes(r, std::vector<bool>(q.targets().size(), true)));
  EXPECT_EQ(count_op(m, "QuantizeLinear"), 5);  // one per distinct activation
  // 5 activations + 5 weights + the biases of conv4 and fc (the others have none)
  EXPECT_EQ(count_op(m, "DequantizeLinear"), 12);
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : m.graph().initializer()) inits[t.name()] = &t;
  std::map<std::string, const onnx::NodeProto*> made;
  for (const auto& n : m.graph().node()) made[n.output(0)] = &n;
  // The fp32 weights are gone; conv1's int8 weight reproduces the fp32 one within half a step.
  EXPECT_FALSE(inits.count("conv1.weight"));
  const auto plain = parse([&] {
    std::ifstream f(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }());
  const onnx::TensorProto* w32 = nullptr;
  for (const auto& t : plain.graph().initializer())
    if (t.name() == "conv1.weight") w32 = &t;
  ASSERT_NE(w32, nullptr);
  const Tensor w = tensor_from_proto(*w32, ".", "w");
  for (const auto& n : m.graph().node()) {
    if (n.name() != "conv1") continue;
    const onnx::NodeProto* dq = made.at(n.input(1));
    ASSERT_EQ(dq->op_type(), "DequantizeLinear");
    const Tensor wq = tensor_from_proto(*inits.at(dq->input(0)), ".", "wq");
    const Tensor ws = tensor_from_proto(*inits.at(dq->input(1)), ".", "ws");
    ASSERT_EQ(wq.dtype(), DType::kI8);
    ASSERT_EQ(ws.numel(), w.shape()[0]);
    const std::int64_t per = w.numel() / w.shape()[0];
    for (std::int64_t c = 0; c < w.shape()[0]; ++c) {
      int top = 0;
      for (std::int64_t i = 0; i < per; ++i) {
        const float s = ws.ptr<float>()[c];
        const auto v = wq.ptr<std::int8_t>()[c * per + i];
        top = std::max(top, std::abs(int(v)));
        EXPECT_LE(std::fabs(w.ptr<float>()[c * per + i] - v * s), s * 0.5f + 1e-7f);
      }
      EXPECT_EQ(top, 127) << "channel " << c;  // symmetric: the largest weight takes the last step
    }
    // The activation goes through Q then DQ with the same scale and zero point.
    const onnx::NodeProto* dx = made.at(n.input(0));
    ASSERT_EQ(dx->op_type(), "DequantizeLinear");
    const onnx::NodeProto* qx = made.at(dx->input(0));
    ASSERT_EQ(qx->op_type(), "QuantizeLinear");
    EXPECT_EQ(qx->input(0), "input");
    EXPECT_EQ(qx->input(1), dx->input(1));
    const Tensor sx = tensor_from_proto(*inits.at(dx->input(1)), ".", "sx");
    const auto& ri = r.at("input");
    EXPECT_FLOAT_EQ(sx.ptr<float>()[0], (ri.hi - ri.lo) / 255.f);
  }
}

TEST_F(QdqModelTest, RunsAsInt8CloseToItsFakeQuantizedSelf) {
  const QdqModel q(path_);
  const std::string bytes = q.qdq_bytes(ranges(q), std::vector<bool>(q.targets().size(), true));
  EngineOptions int8;
  int8.precision = Precision::kInt8;
  Session fake(Model::load_bytes(bytes, dir_, "qdq", {}));
  Session real(Model::load_bytes(bytes, dir_, "qdq", int8));
  Session fp32(Model::load(path_));
  const Tensor x = input(4, 11);
  const Tensor a = fake.run({x})[0], b = real.run({x})[0], c = fp32.run({x})[0];
  EXPECT_GT(cosine(a, b), 0.999);
  EXPECT_GT(cosine(a, c), 0.99);
  if (engine_has_int8()) {
    int convs = 0;
    for (const auto& k : real.plan_report().kernels) convs += k.op == "pm.QConv";
    EXPECT_EQ(convs, 4);
  }
}

TEST_F(QdqModelTest, QuantizeAndDequantizeKeepRowsApart) {
  // Run as written (fp32), every Q/DQ pair stays in the plan; they are element-wise with
  // constant scales, so a batch can still run in micro-batches, with the rows unchanged.
  const QdqModel q(path_);
  const std::string bytes = q.qdq_bytes(ranges(q), std::vector<bool>(q.targets().size(), true));
  EngineOptions chunked;
  chunked.micro_batch = 2;
  EngineOptions whole;
  whole.micro_batch = -1;
  Session a(Model::load_bytes(bytes, dir_, "qdq", chunked));
  Session b(Model::load_bytes(bytes, dir_, "qdq", whole));
  const Tensor x = input(5, 13);
  const Tensor ya = a.run({x})[0], yb = b.run({x})[0];
  EXPECT_EQ(a.plan_report().chunk_rows, 2) << a.plan_report().split_why;
  int qdq = 0;
  for (const auto& k : a.plan_report().kernels) qdq += k.op == "QuantizeLinear";
  EXPECT_EQ(qdq, 5);
  for (std::int64_t i = 0; i < ya.numel(); ++i) ASSERT_EQ(ya.ptr<float>()[i], yb.ptr<float>()[i]) << i;
}

TEST_F(QdqModelTest, QuantizesOnlyTheChosenLayers) {
  const QdqModel q(path_);
  std::vector<bool> only(q.targets().size(), false);
  only[3] = true;  // conv4
  const auto m = parse(q.qdq_bytes(ranges(q), only));
  EXPECT_EQ(count_op(m, "QuantizeLinear"), 1);
  EXPECT_EQ(count_op(m, "DequantizeLinear"), 3);  // activation, weight, bias
  bool conv1_plain = false;
  for (const auto& n : m.graph().node())
    if (n.name() == "conv1") conv1_plain = n.input(1) == "conv1.weight";
  EXPECT_TRUE(conv1_plain);
  EXPECT_THROW(q.qdq_bytes({}, only), Error);                           // no range for relu3.out
  EXPECT_THROW(q.qdq_bytes(ranges(q), std::vector<bool>(2, true)), Error);  // one flag per target
}

TEST_F(QdqModelTest, ABiasBeyondInt32StaysFloatAndTheConvStillRunsInt8) {
  const QdqModel q(path_);
  auto r = ranges(q);
  r["relu3.out"] = {0.f, 1e-9f};  // conv4's bias / (activation scale x weight scale) > 2^31
  const std::string bytes = q.qdq_bytes(r, std::vector<bool>(q.targets().size(), true));
  const auto m = parse(bytes);
  EXPECT_EQ(count_op(m, "DequantizeLinear"), 11);  // fc's bias only
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : m.graph().initializer()) inits[t.name()] = &t;
  for (const auto& n : m.graph().node())
    if (n.name() == "conv4") {
      ASSERT_TRUE(inits.count(n.input(2))) << n.input(2);
      EXPECT_EQ(inits.at(n.input(2))->data_type(), onnx::TensorProto::FLOAT);
    }
  if (engine_has_int8()) {
    EngineOptions int8;
    int8.precision = Precision::kInt8;
    Session s(Model::load_bytes(bytes, dir_, "qdq", int8));
    s.run({input(1, 5)});
    int convs = 0;
    for (const auto& k : s.plan_report().kernels) convs += k.op == "pm.QConv";
    EXPECT_EQ(convs, 4);
  }
}

TEST_F(QdqModelTest, RefusesAModelThatIsAlreadyQuantized) {
  const QdqModel q(path_);
  const std::string out = dir_ + "/tiny.int8.onnx";
  {
    std::ofstream f(out, std::ios::binary);
    f << q.qdq_bytes(ranges(q), std::vector<bool>(q.targets().size(), true));
  }
  try {
    QdqModel again(out);
    FAIL() << "a QDQ model was taken for quantization";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already quantized"), std::string::npos) << e.what();
  }
  EXPECT_THROW(QdqModel(dir_ + "/missing.onnx"), Error);
}

}  // namespace
}  // namespace pm::engine

namespace pm::engine {
namespace {

// Equalization on the default model (fetched at setup: Conv -> Relu -> Conv chains, float16
// weights behind Casts): the rescaled model computes the same embeddings in fp32.
TEST(QdqEqualize, TheRescaledDefaultModelComputesTheSameEmbeddings) {
  const std::string path = std::string(PM_SOURCE_DIR) + "/models/sscd_distilled.onnx";
  QdqModel q(path);
  const auto eligible = q.equalizable();
  EXPECT_GE(eligible.size(), 20u);
  Tensor x(DType::kU8, {2, 96, 96, 3});
  std::mt19937 gen(5);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(gen() & 0xff);
  // Per-channel maxima from the observer, as model quantize takes them.
  Session obs(q.observer({}));
  const auto outs = obs.run({x});
  const std::size_t first = outs.size() - q.activations().size();
  std::map<std::string, std::vector<float>> maxima;
  for (std::size_t a = 0; a < q.activations().size(); ++a) {
    if (std::find(eligible.begin(), eligible.end(), q.activations()[a]) == eligible.end()) continue;
    const Tensor& t = outs[first + a];
    const std::int64_t c = t.shape()[1], inner = t.numel() / (t.shape()[0] * c);
    auto& m = maxima[q.activations()[a]];
    m.assign(static_cast<std::size_t>(c), 0.f);
    for (std::int64_t n = 0; n < t.shape()[0]; ++n)
      for (std::int64_t ch = 0; ch < c; ++ch)
        for (std::int64_t k = 0; k < inner; ++k)
          m[static_cast<std::size_t>(ch)] =
              std::max(m[static_cast<std::size_t>(ch)], std::fabs(t.ptr<float>()[(n * c + ch) * inner + k]));
  }
  q.equalize(maxima);
  const std::string bytes = q.qdq_bytes({}, std::vector<bool>(q.targets().size(), false));
  Session before(Model::load(path));
  Session after(Model::load_bytes(bytes, ".", "equalized", {}));
  const Tensor a = before.run({x})[0], b = after.run({x})[0];
  ASSERT_EQ(a.numel(), b.numel());
  double ab = 0, aa = 0, bb = 0, worst = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    ab += double(a.ptr<float>()[i]) * b.ptr<float>()[i];
    aa += double(a.ptr<float>()[i]) * a.ptr<float>()[i];
    bb += double(b.ptr<float>()[i]) * b.ptr<float>()[i];
    worst = std::max(worst, double(std::fabs(a.ptr<float>()[i] - b.ptr<float>()[i])));
  }
  EXPECT_GT(ab / std::sqrt(aa * bb), 0.99999);
  EXPECT_LT(worst, 1e-3);
  // And the activations it rescaled now have channels of one size (depthwise readers).
  EXPECT_THROW(q.equalize({{"no such activation", {1.f}}}), Error);
}

}  // namespace
}  // namespace pm::engine
