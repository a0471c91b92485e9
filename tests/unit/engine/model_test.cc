// Whole-model tests: the generated tiny_embed model and (when fetched) the default model,
// oneDNN execution compared with the reference kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pixelmill/engine.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"
#include "skip_or_fail.h"
#include "tensor_compare.h"

namespace pm::engine {
namespace {

using pm::test::max_abs_diff;
using pm::test::value_range;

Tensor random_tensor(DType dt, Dims shape, unsigned seed) {
  Tensor t(dt, shape);
  std::uint32_t s = seed * 2654435761u + 1;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    if (dt == DType::kF32) t.ptr<float>()[i] = float(s >> 8) / float(1 << 24) * 2.f - 1.f;
    else t.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(s >> 24);
  }
  return t;
}

std::string tmp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("pm_engine_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(p);
  return p.string();
}

TEST(TinyEmbed, IsDeterministic) {
  EXPECT_EQ(tiny_embed_onnx_bytes(), tiny_embed_onnx_bytes());
  const std::string dir = tmp_dir("det");
  write_tiny_embed(dir);
  std::ifstream card(dir + "/tiny_embed.json");
  std::string text((std::istreambuf_iterator<char>(card)), {});
  EXPECT_NE(text.find(sha256_hex(tiny_embed_onnx_bytes())), std::string::npos);
  EXPECT_NE(text.find("\"pretrained\": false"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(TinyEmbed, LoadsAndDescribesItself) {
  const std::string dir = tmp_dir("load");
  auto model = Model::load(write_tiny_embed(dir));
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].name, "input");
  EXPECT_EQ(model->inputs()[0].shape, (Dims{-1, 3, 64, 64}));
  EXPECT_EQ(model->outputs()[0].name, "embedding");
  auto s = model->summary({{"input", {1, 3, 64, 64}}});
  EXPECT_EQ(s.opset, 17);
  EXPECT_EQ(s.op_counts.at("Conv"), 4);
  EXPECT_EQ(s.op_counts.at("BatchNormalization"), 3);
  EXPECT_GT(s.parameters, 3000);
  EXPECT_GT(s.macs, 0);
  std::filesystem::remove_all(dir);
}

TEST(TinyEmbed, OneDnnMatchesReference) {
  const std::string dir = tmp_dir("ref");
  const std::string path = write_tiny_embed(dir);
  EngineOptions ref_opts;
  ref_opts.reference = true;
  Session fast(Model::load(path));
  Session ref(Model::load(path, ref_opts));
  for (std::int64_t batch : {1, 3}) {
    Tensor x = random_tensor(DType::kF32, {batch, 3, 64, 64}, static_cast<unsigned>(batch));
    auto a = fast.run({x});
    auto b = ref.run({x});
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].shape(), (Dims{batch, 32}));
    EXPECT_LT(max_abs_diff(a[0], b[0]), 1e-4f);
    // Not a degenerate network: outputs vary (and are all finite).
    EXPECT_GT(value_range(a[0]), 1e-3f);
  }
  // Same input twice gives the same output (plans are cached and reused).
  Tensor x = random_tensor(DType::kF32, {2, 3, 64, 64}, 7);
  auto a1 = fast.run({x});
  auto a2 = fast.run({x});
  EXPECT_EQ(max_abs_diff(a1[0], a2[0]), 0.f);
  std::filesystem::remove_all(dir);
}

TEST(TinyEmbed, RejectsWrongInputs) {
  const std::string dir = tmp_dir("bad");
  Session s(Model::load(write_tiny_embed(dir)));
  EXPECT_THROW(s.run({}), Error);
  EXPECT_THROW(s.run({Tensor(DType::kU8, {1, 3, 64, 64})}), Error);
  EXPECT_THROW(s.run({Tensor(DType::kF32, {1, 3, 32, 64})}), Error);
  std::filesystem::remove_all(dir);
}

TEST(Loader, MalformedFilesGiveErrors) {
  const std::string dir = tmp_dir("malformed");
  EXPECT_THROW(Model::load(dir + "/missing.onnx"), Error);
  {
    std::ofstream f(dir + "/garbage.onnx", std::ios::binary);
    f << "this is not a protobuf \x01\x02\x03\xff\xff\xff";
  }
  EXPECT_THROW(Model::load(dir + "/garbage.onnx"), Error);
  // Every truncation of a valid model fails cleanly or loads; none crashes.
  const std::string bytes = tiny_embed_onnx_bytes();
  for (std::size_t cut = 0; cut < bytes.size(); cut += bytes.size() / 97 + 1) {
    std::ofstream f(dir + "/cut.onnx", std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(cut));
    f.close();
    try {
      Model::load(dir + "/cut.onnx");
    } catch (const Error&) {
    }
  }
  std::filesystem::remove_all(dir);
}

// The default model, when scripts/fetch-models.sh has fetched it.
TEST(DefaultModel, OneDnnMatchesReference) {
  const std::string path = std::string(PM_SOURCE_DIR) + "/models/sscd_distilled.onnx";
  if (!std::filesystem::exists(path)) PM_SKIP_OR_FAIL("models/sscd_distilled.onnx is not fetched (scripts/fetch-models.sh)");
  EngineOptions ref_opts;
  ref_opts.reference = true;
  auto fast_model = Model::load(path);
  EXPECT_EQ(fast_model->inputs()[0].dtype, DType::kU8);
  Session fast(fast_model);
  Session ref(Model::load(path, ref_opts));
  // Non-square, odd size: plans are built per concrete shape.
  Tensor x = random_tensor(DType::kU8, {2, 72, 56, 3}, 3);
  auto a = fast.run({x});
  auto b = ref.run({x});
  ASSERT_EQ(a[0].shape(), (Dims{2, 512}));
  EXPECT_LT(max_abs_diff(a[0], b[0]), 1e-4f);
  double norm = 0;
  for (int i = 0; i < 512; ++i) norm += double(a[0].ptr<float>()[i]) * a[0].ptr<float>()[i];
  EXPECT_NEAR(norm, 1.0, 1e-4);
}

}  // namespace
}  // namespace pm::engine
