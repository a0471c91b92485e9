// Corrupted models must fail with pm::Error (or load and run), never crash: byte flips in
// the generated model, loaded and run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <onnx/onnx_pb.h>

#include "pixelmill/engine.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {
namespace {

TEST(Fuzz, CorruptedModelsNeverCrash) {
  const std::string good = tiny_embed_onnx_bytes();
  const auto path = std::filesystem::temp_directory_path() / ("pm_fuzz_" + std::to_string(::getpid()) + ".onnx");
  std::uint64_t s = 42;
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return s >> 33;
  };
  int loaded = 0, refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < flips; ++k) bytes[next() % bytes.size()] = static_cast<char>(next() & 0xff);
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    try {
      Session session(Model::load(path.string()));
      Tensor x(DType::kF32, {1, 3, 64, 64});
      session.run({x});
      ++loaded;
    } catch (const Error&) {
      ++refused;
    }
  }
  std::filesystem::remove(path);
  EXPECT_EQ(loaded + refused, 300);
  EXPECT_GT(refused, 0);
}

// Attribute values that make no sense are rejected with an error naming the node.
TEST(Fuzz, BadAttributesAreErrors) {
  const auto path = std::filesystem::temp_directory_path() / ("pm_badattr_" + std::to_string(::getpid()) + ".onnx");
  struct Edit {
    const char* attr;
    std::vector<std::int64_t> ints;
  };
  const Edit edits[] = {{"strides", {0, 0}}, {"strides", {-1, 1}},   {"pads", {-5, 0, 0, 0}},
                        {"pads", {1, 1}},    {"group", {0}},         {"group", {7}},
                        {"dilations", {0, 1}}, {"kernel_shape", {99, 99}}};
  for (const auto& e : edits) {
    onnx::ModelProto m;
    ASSERT_TRUE(m.ParseFromString(tiny_embed_onnx_bytes()));
    auto* conv = m.mutable_graph()->mutable_node(0);
    ASSERT_EQ(conv->op_type(), "Conv");
    onnx::AttributeProto* a = nullptr;
    for (auto& x : *conv->mutable_attribute())
      if (x.name() == e.attr) a = &x;
    if (!a) {
      a = conv->add_attribute();
      a->set_name(e.attr);
    }
    a->clear_ints();
    if (std::string(e.attr) == "group") {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(e.ints[0]);
    } else {
      a->set_type(onnx::AttributeProto::INTS);
      for (auto v : e.ints) a->add_ints(v);
    }
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      m.SerializeToOstream(&f);
    }
    std::string msg;
    try {
      Session session(Model::load(path.string()));
      session.run({Tensor(DType::kF32, {1, 3, 64, 64})});
    } catch (const Error& err) {
      msg = err.what();
    }
    EXPECT_NE(msg, "") << e.attr;
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pm::engine
