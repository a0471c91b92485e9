// Card JSON that the image tests build on: a small embedding card and an int8 card of the
// same network, and a directory holding both, the fp32 card naming the other as its sibling.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pixelmill/sha256.h"

namespace pm::test_cards {

using nlohmann::json;

// STEM.onnx's card (its sha256 zeros).
inline json tiny_card(const std::string& stem = "tiny_embed") {
  json j = json::parse(R"({
    "name": "", "description": "test model", "file": "",
    "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
    "pretrained": false,
    "input": {"name": "x", "dtype": "float32", "layout": "NCHW", "color": "RGB",
              "height": 64, "width": 64},
    "resize": "squash", "interpolation": "area",
    "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
    "embedding": {"output": "emb", "dim": 32, "normalize": "l2"},
    "dedup": {"threshold": 0.9}
  })");
  j["name"] = stem;
  j["file"] = stem + ".onnx";
  return j;
}

// The card of STEM.int8.onnx, quantized from STEM.onnx.
inline json int8_card(const std::string& stem = "tiny_embed") {
  json j = tiny_card(stem);
  j["name"] = stem + ".int8";
  j["file"] = stem + ".int8.onnx";
  j["sha256"] = std::string(64, '1');
  j["quantization"] = json::parse(R"({
    "from": {"file": "", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"},
    "method": "percentile", "images": 64,
    "calibration_sha256": "2222222222222222222222222222222222222222222222222222222222222222",
    "kept_fp32": ["conv_first"],
    "cosine": {"images": 32, "median": 0.995, "p01": 0.97, "min": 0.95}
  })");
  j["quantization"]["from"]["file"] = stem + ".onnx";
  return j;
}

// DIR/STEM.onnx and DIR/STEM.int8.onnx (the bytes "fp32 weights" and "int8 weights") and their
// cards DIR/STEM.json, naming the sibling, and DIR/STEM.int8.json, made from the fp32 file.
struct SiblingPair {
  json fp32, int8;
  std::string fp32_path, int8_path;
  void write() const {
    std::ofstream(fp32_path) << fp32.dump();
    std::ofstream(int8_path) << int8.dump();
  }
};

inline SiblingPair write_sibling_pair(const std::filesystem::path& dir, const std::string& stem) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / (stem + ".onnx"), std::ios::binary) << "fp32 weights";
  std::ofstream(dir / (stem + ".int8.onnx"), std::ios::binary) << "int8 weights";
  SiblingPair s{tiny_card(stem), int8_card(stem), (dir / (stem + ".json")).string(),
                (dir / (stem + ".int8.json")).string()};
  s.fp32["sha256"] = sha256_hex("fp32 weights");
  s.fp32["quantized"] = stem + ".int8.json";
  s.int8["sha256"] = sha256_hex("int8 weights");
  s.int8["quantization"]["from"]["sha256"] = s.fp32["sha256"];
  s.write();
  return s;
}

}  // namespace pm::test_cards
