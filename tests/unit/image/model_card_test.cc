#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "pixelmill/model_card.h"
#include "test_cards.h"

namespace pm {
namespace {

using nlohmann::json;

const std::string kDefaultCard = std::string(PM_SOURCE_DIR) + "/models/sscd_distilled.json";

using test_cards::int8_card;
using test_cards::tiny_card;

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

// --- precision fields (precisions, quantized, quantization) ---


TEST(ModelCard, PrecisionFieldsDefaultToFp32Only) {
  const ModelCard c = parse_model_card(tiny_card().dump(), "tiny.json");
  EXPECT_EQ(c.precisions, std::vector<std::string>{"fp32"});
  EXPECT_FALSE(card_allows_bf16(c));
  EXPECT_EQ(c.quantized, "");
  EXPECT_FALSE(c.quantization.has_value());
  // The shipped cards do not list bf16: auto keeps giving them fp32.
  EXPECT_FALSE(card_allows_bf16(load_model_card(kDefaultCard)));
}

TEST(ModelCard, ParsesPrecisionsAndQuantizedSibling) {
  json j = tiny_card();
  j["precisions"] = json::array({"fp32", "bf16"});
  j["quantized"] = "tiny_embed.int8.json";
  const ModelCard c = parse_model_card(j.dump(), "tiny.json");
  EXPECT_EQ(c.precisions, (std::vector<std::string>{"fp32", "bf16"}));
  EXPECT_TRUE(card_allows_bf16(c));
  EXPECT_EQ(c.quantized, "tiny_embed.int8.json");
  // A detector's card may name a sibling too.
  json d = j;
  d.erase("embedding");
  d.erase("dedup");
  d["detector"] = {{"head", "yolox"}, {"outputs", {"out"}}, {"classes", {"a"}}, {"strides", {8, 16, 32}}};
  EXPECT_EQ(parse_model_card(d.dump(), "det.json").quantized, "tiny_embed.int8.json");
}

TEST(ModelCard, ParsesAnInt8Card) {
  const ModelCard c = parse_model_card(int8_card().dump(), "tiny.int8.json");
  ASSERT_TRUE(c.quantization.has_value());
  const QuantizationInfo& q = *c.quantization;
  EXPECT_EQ(q.from_file, "tiny_embed.onnx");
  EXPECT_EQ(q.from_sha256, std::string(64, '0'));
  EXPECT_EQ(q.method, QuantMethod::kPercentile);
  EXPECT_EQ(quant_method_name(q.method), "percentile");
  EXPECT_EQ(q.images, 64);
  EXPECT_EQ(q.calibration_sha256, std::string(64, '2'));
  EXPECT_EQ(q.kept_fp32, std::vector<std::string>{"conv_first"});
  EXPECT_EQ(q.cosine_images, 32);
  EXPECT_DOUBLE_EQ(q.cosine_median, 0.995);
  EXPECT_DOUBLE_EQ(q.cosine_p01, 0.97);
  EXPECT_DOUBLE_EQ(q.cosine_min, 0.95);
  json j = int8_card();
  j["quantization"]["kept_fp32"] = json::array();
  j["quantization"]["method"] = "entropy";
  const ModelCard e = parse_model_card(j.dump(), "tiny.int8.json");
  EXPECT_TRUE(e.quantization->kept_fp32.empty());
  EXPECT_EQ(e.quantization->method, QuantMethod::kEntropy);
}

TEST(ModelCard, EveryBadPrecisionFieldIsNamedWithTheFile) {
  const BadCase fp32_cases[] = {
      {"'precisions'", [](json& j) { j["precisions"] = "fp32"; }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array({"bf16"}); }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array(); }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array({"fp32", "fp16"}); }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array({"fp32", "int8"}); }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array({"fp32", "fp32"}); }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array({"fp32", 16}); }},
      {"'quantized'", [](json& j) { j["quantized"] = ""; }},
      {"'quantized'", [](json& j) { j["quantized"] = 3; }},
      {"'quantized'", [](json& j) { j["quantized"] = "tiny.int8.onnx"; }},
      {"'quantized'", [](json& j) { j["quantized"] = "/abs/tiny.int8.json"; }},
  };
  for (const auto& c : fp32_cases) {
    json j = tiny_card();
    c.mutate(j);
    const std::string e = error_of(j);
    EXPECT_NE(e.find("cards/x.json"), std::string::npos) << e;
    EXPECT_NE(e.find(c.field), std::string::npos) << "expected " << c.field << " in: " << e;
  }
  const BadCase int8_cases[] = {
      {"'quantization'", [](json& j) { j["quantization"] = "minmax"; }},
      {"'quantization.from'", [](json& j) { j["quantization"].erase("from"); }},
      {"'quantization.from.file'", [](json& j) { j["quantization"]["from"].erase("file"); }},
      {"'quantization.from.file'", [](json& j) { j["quantization"]["from"]["file"] = "../x.onnx"; }},
      {"'quantization.from.sha256'", [](json& j) { j["quantization"]["from"].erase("sha256"); }},
      {"'quantization.from.sha256'", [](json& j) { j["quantization"]["from"]["sha256"] = "abc"; }},
      {"'quantization.from.sha256'",
       [](json& j) { j["quantization"]["from"]["sha256"] = j["sha256"]; }},
      {"'quantization.method'", [](json& j) { j["quantization"]["method"] = "kl"; }},
      {"'quantization.method'", [](json& j) { j["quantization"].erase("method"); }},
      {"'quantization.images'", [](json& j) { j["quantization"]["images"] = 0; }},
      {"'quantization.images'", [](json& j) { j["quantization"].erase("images"); }},
      {"'quantization.calibration_sha256'", [](json& j) { j["quantization"]["calibration_sha256"] = "x"; }},
      {"'quantization.calibration_sha256'", [](json& j) { j["quantization"].erase("calibration_sha256"); }},
      {"'quantization.kept_fp32'", [](json& j) { j["quantization"]["kept_fp32"] = "conv"; }},
      {"'quantization.kept_fp32'", [](json& j) { j["quantization"]["kept_fp32"] = json::array({""}); }},
      {"'quantization.kept_fp32'", [](json& j) { j["quantization"].erase("kept_fp32"); }},
      {"'quantization.cosine'", [](json& j) { j["quantization"].erase("cosine"); }},
      {"'quantization.cosine.images'", [](json& j) { j["quantization"]["cosine"]["images"] = -1; }},
      {"'quantization.cosine.median'", [](json& j) { j["quantization"]["cosine"]["median"] = 1.5; }},
      {"'quantization.cosine.p01'", [](json& j) { j["quantization"]["cosine"].erase("p01"); }},
      {"'quantization.cosine.min'", [](json& j) { j["quantization"]["cosine"]["min"] = "low"; }},
      // An int8 card neither names a sibling nor runs in bf16.
      {"'quantized'", [](json& j) { j["quantized"] = "other.int8.json"; }},
      {"'precisions'", [](json& j) { j["precisions"] = json::array({"fp32", "bf16"}); }},
  };
  ASSERT_EQ(error_of(int8_card()), "");
  for (const auto& c : int8_cases) {
    json j = int8_card();
    c.mutate(j);
    const std::string e = error_of(j);
    EXPECT_NE(e.find("cards/x.json"), std::string::npos) << e;
    EXPECT_NE(e.find(c.field), std::string::npos) << "expected " << c.field << " in: " << e;
  }
}

// The sibling a card names: loaded, checked to be made from this card's file, its own
// file's sha256 checked.
TEST(ModelCard, ResolveQuantizedSiblingChecksWhereItCameFrom) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "pm_quantized_sibling";
  auto files = test_cards::write_sibling_pair(dir, "tiny_embed");
  json& fp32 = files.fp32;
  json& int8 = files.int8;
  const std::string& fp32_path = files.fp32_path;
  const std::string& int8_path = files.int8_path;
  const auto error_of_sibling = [&]() -> std::string {
    try {
      resolve_quantized_sibling(load_model_card(fp32_path));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };

  const ModelFiles m = resolve_quantized_sibling(load_model_card(fp32_path));
  EXPECT_EQ(m.onnx, (dir / "tiny_embed.int8.onnx").string());
  EXPECT_EQ(m.card.path, int8_path);
  EXPECT_TRUE(m.card.quantization.has_value());

  // Made from another file: stale.
  json stale = int8;
  stale["quantization"]["from"]["sha256"] = std::string(64, 'a');
  std::ofstream(int8_path) << stale.dump();
  std::string e = error_of_sibling();
  EXPECT_NE(e.find("was made from another model file"), std::string::npos) << e;
  EXPECT_NE(e.find(std::string(64, 'a')), std::string::npos) << e;
  EXPECT_NE(e.find(fp32["sha256"].get<std::string>()), std::string::npos) << e;
  EXPECT_NE(e.find("quantize again"), std::string::npos) << e;

  // Not an int8 card.
  json plain = tiny_card();
  plain["sha256"] = sha256_hex("int8 weights");
  plain["file"] = "tiny_embed.int8.onnx";
  std::ofstream(int8_path) << plain.dump();
  e = error_of_sibling();
  EXPECT_NE(e.find("not an int8 card"), std::string::npos) << e;

  // Another network: a different embedding size.
  json other = int8;
  other["embedding"]["dim"] = 16;
  std::ofstream(int8_path) << other.dump();
  e = error_of_sibling();
  EXPECT_NE(e.find("not the same network"), std::string::npos) << e;

  // Its file is not the one it pins.
  std::ofstream(int8_path) << int8.dump();
  std::ofstream(dir / "tiny_embed.int8.onnx", std::ios::binary) << "other int8 weights";
  e = error_of_sibling();
  EXPECT_NE(e.find("tiny_embed.int8.onnx"), std::string::npos) << e;
  EXPECT_NE(e.find(int8_path), std::string::npos) << e;

  // Missing altogether: says how to make one.
  fs::remove(int8_path);
  e = error_of_sibling();
  EXPECT_NE(e.find("no such file"), std::string::npos) << e;
  EXPECT_NE(e.find("pixelmill model quantize"), std::string::npos) << e;

  // A card without `quantized` has no sibling to resolve.
  fp32.erase("quantized");
  std::ofstream(fp32_path) << fp32.dump();
  EXPECT_THROW(resolve_quantized_sibling(load_model_card(fp32_path)), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pm
