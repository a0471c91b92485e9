#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "pixelmill/model_card.h"

namespace pm {
namespace {

using nlohmann::json;

const std::string kDefaultCard = std::string(PM_SOURCE_DIR) + "/models/sscd_distilled.json";

json tiny_card() {
  return json::parse(R"({
    "name": "tiny_embed", "description": "test model", "file": "tiny_embed.onnx",
    "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
    "pretrained": false,
    "input": {"name": "x", "dtype": "float32", "layout": "NCHW", "color": "RGB",
              "height": 64, "width": 64},
    "resize": "squash", "interpolation": "area",
    "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
    "embedding": {"output": "emb", "dim": 32, "normalize": "l2"},
    "dedup": {"threshold": 0.9}
  })");
}

// The error message of parsing `j`, or "" when it parses.
std::string error_of(const json& j) {
  try {
    parse_model_card(j.dump(), "cards/x.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelCard, LoadsTheDefaultCard) {
  const ModelCard c = load_model_card(kDefaultCard);
  EXPECT_EQ(c.name, "sscd_distilled");
  EXPECT_EQ(c.file, "sscd_distilled.onnx");
  EXPECT_EQ(c.sha256.size(), 64u);
  EXPECT_TRUE(c.pretrained);
  EXPECT_EQ(c.source.at("registry"), "pypi");
  EXPECT_EQ(c.input.name, "image");
  EXPECT_EQ(c.input.dtype, DType::kU8);
  EXPECT_EQ(c.input.layout, TensorLayout::kNHWC);
  EXPECT_EQ(c.input.color, ColorOrder::kRGB);
  EXPECT_EQ(c.input.height, 288);
  EXPECT_EQ(c.input.width, 288);
  EXPECT_EQ(c.resize, ResizePolicy::kSquash);
  EXPECT_EQ(c.interpolation, Interpolation::kArea);
  EXPECT_EQ(c.embedding.output, "embedding");
  EXPECT_EQ(c.embedding.dim, 512);
  EXPECT_EQ(c.embedding.normalize, EmbeddingNorm::kL2);
  EXPECT_FLOAT_EQ(c.dedup_threshold, 0.65f);
  EXPECT_EQ(c.path, kDefaultCard);
  std::ifstream in(kDefaultCard, std::ios::binary);
  EXPECT_EQ(c.raw_json, std::string(std::istreambuf_iterator<char>(in), {}));
}

TEST(ModelCard, ParsesFloatNchwCard) {
  const ModelCard c = parse_model_card(tiny_card().dump(), "tiny.json");
  EXPECT_EQ(c.input.dtype, DType::kF32);
  EXPECT_EQ(c.input.layout, TensorLayout::kNCHW);
  EXPECT_FLOAT_EQ(c.scale, 1.0f / 255.0f);
  EXPECT_FLOAT_EQ(c.mean[1], 0.456f);
  EXPECT_FLOAT_EQ(c.stddev[2], 0.225f);
  EXPECT_TRUE(c.source.empty());
  EXPECT_EQ(c.pad_value, 0);
}

struct BadCase {
  const char* field;  // must appear in the message
  std::function<void(json&)> mutate;
};

TEST(ModelCard, EveryBadFieldIsNamedWithTheFile) {
  const BadCase cases[] = {
      {"'name'", [](json& j) { j.erase("name"); }},
      {"'name'", [](json& j) { j["name"] = 3; }},
      {"'file'", [](json& j) { j["file"] = ""; }},
      {"'sha256'", [](json& j) { j["sha256"] = "abc"; }},
      {"'sha256'", [](json& j) { j["sha256"] = std::string(64, 'g'); }},
      {"'source'", [](json& j) { j["source"] = "pypi"; }},
      {"'pretrained'", [](json& j) { j["pretrained"] = "yes"; }},
      {"'input'", [](json& j) { j.erase("input"); }},
      {"'input.name'", [](json& j) { j["input"].erase("name"); }},
      {"'input.dtype'", [](json& j) { j["input"]["dtype"] = "float16"; }},
      {"'input.layout'", [](json& j) { j["input"]["layout"] = "CHW"; }},
      {"'input.color'", [](json& j) { j["input"]["color"] = "RGBA"; }},
      {"'input.height'", [](json& j) { j["input"]["height"] = 0; }},
      {"'input.width'", [](json& j) { j["input"]["width"] = 64.5; }},
      {"'resize'", [](json& j) { j["resize"] = "stretch"; }},
      {"'interpolation'", [](json& j) { j["interpolation"] = "nearest"; }},
      {"'pad_value'", [](json& j) { j["pad_value"] = 300; }},
      {"'scale'", [](json& j) { j["scale"] = 0; }},
      {"'mean'", [](json& j) { j["mean"] = json::array({0.5, 0.5}); }},
      {"'mean'", [](json& j) { j["mean"] = json::array({0.5, "a", 0.5}); }},
      {"'std'", [](json& j) { j["std"] = json::array({1, 0, 1}); }},
      {"'embedding.output'", [](json& j) { j["embedding"]["output"] = ""; }},
      {"'embedding.dim'", [](json& j) { j["embedding"]["dim"] = -1; }},
      {"'embedding.normalize'", [](json& j) { j["embedding"]["normalize"] = "l1"; }},
      {"'dedup'", [](json& j) { j.erase("dedup"); }},
      {"'dedup.threshold'", [](json& j) { j["dedup"]["threshold"] = 2; }},
      // uint8 input with normalisation that cannot be applied
      {"'scale/mean/std'", [](json& j) { j["input"]["dtype"] = "uint8"; }},
  };
  ASSERT_EQ(error_of(tiny_card()), "");
  for (const auto& c : cases) {
    json j = tiny_card();
    c.mutate(j);
    const std::string e = error_of(j);
    EXPECT_NE(e.find("cards/x.json"), std::string::npos) << e;
    EXPECT_NE(e.find(c.field), std::string::npos) << "expected " << c.field << " in: " << e;
  }
}

TEST(ModelCard, InvalidJsonAndMissingFileAreClearErrors) {
  try {
    parse_model_card("{ not json", "broken.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos);
  }
  EXPECT_THROW(load_model_card("/nonexistent/card.json"), Error);
}

TEST(ModelCard, CardPathForModel) {
  EXPECT_EQ(card_path_for_model("models/sscd_distilled.onnx"), "models/sscd_distilled.json");
  EXPECT_EQ(card_path_for_model("/a/b.c/tiny_embed.onnx"), "/a/b.c/tiny_embed.json");
  EXPECT_EQ(card_path_for_model("model"), "model.json");
}

TEST(ModelCard, VerifyModelFileChecksSha256) {
  const std::string path = ::testing::TempDir() + "pm_card_test.onnx";
  std::ofstream(path, std::ios::binary) << "not really onnx";
  json j = tiny_card();
  j["sha256"] = sha256_hex("not really onnx");
  ModelCard c = parse_model_card(j.dump(), "tiny.json");
  EXPECT_NO_THROW(verify_model_file(c, path));
  c.sha256[0] = c.sha256[0] == '0' ? '1' : '0';
  try {
    verify_model_file(c, path);
    FAIL() << "mismatch not detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(c.sha256), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(verify_model_file(c, path), Error);
}

// resolve_model takes the ONNX file or its card, wherever a model is taken.
TEST(ModelCard, ResolveModelTakesTheFileOrItsCard) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "pm_resolve_model";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string onnx = (dir / "tiny_embed.onnx").string();
  const std::string card = (dir / "tiny_embed.json").string();
  std::ofstream(onnx, std::ios::binary) << "weights";
  json j = tiny_card();
  j["sha256"] = sha256_hex("weights");
  std::ofstream(card) << j.dump();

  const ModelFiles by_file = resolve_model(onnx);
  EXPECT_EQ(by_file.onnx, onnx);
  EXPECT_EQ(by_file.card.path, card);
  const ModelFiles by_card = resolve_model(card);
  EXPECT_EQ(by_card.onnx, onnx);
  EXPECT_EQ(by_card.card.sha256, by_file.card.sha256);
  EXPECT_TRUE(is_model_card_path(card));
  EXPECT_TRUE(is_model_card_path("/x/Card.JSON"));
  EXPECT_FALSE(is_model_card_path(onnx));

  // The sha256 is still checked through the card.
  std::ofstream(onnx, std::ios::binary) << "other weights";
  for (const std::string& m : {onnx, card}) {
    try {
      resolve_model(m);
      ADD_FAILURE() << m << ": a file the card does not pin was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(card), std::string::npos) << e.what();
    }
  }
  // The card's file must be there, and must be a plain name in the card's directory.
  fs::remove(onnx);
  try {
    resolve_model(card);
    ADD_FAILURE() << "a card whose file is missing was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos) << e.what();
  }
  j["file"] = "../elsewhere/tiny_embed.onnx";
  std::ofstream(card) << j.dump();
  EXPECT_THROW(resolve_model(card), Error);
  // An ONNX file without a card beside it names the card it looked for.
  const std::string lone = (dir / "lone.onnx").string();
  std::ofstream(lone) << "weights";
  try {
    resolve_model(lone);
    ADD_FAILURE() << "a model without a card was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lone.json"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pm
