// QuantizeLinear / DequantizeLinear against values worked out by hand: rounding half to
// even, saturation, NaN, zero points, per-axis scales, int32 biases; on the default and
// the reference engine (Q/DQ have only reference kernels; the graph around them differs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "graph_builder.h"
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
