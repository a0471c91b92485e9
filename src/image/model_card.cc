// Model card loading. Every field is checked with a message that names the file and the
// field, because a wrong card silently produces wrong embeddings (the network still runs
// on badly normalised input), which is far worse than refusing to start.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "pixelmill/model_card.h"

namespace pm {
namespace {

using nlohmann::json;

class CardReader {
 public:
  explicit CardReader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error("model card " + origin_ + ": field '" + field + "': " + what);
  }

  const json& get(const json& obj, const std::string& prefix, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(prefix + key, "missing");
    return *it;
  }

  std::string str(const json& obj, const std::string& prefix, const char* key,
                  bool allow_empty = false) const {
    const json& v = get(obj, prefix, key);
    if (!v.is_string()) fail(prefix + key, "must be a string, not " + std::string(v.type_name()));
    std::string s = v.get<std::string>();
    if (s.empty() && !allow_empty) fail(prefix + key, "must not be empty");
    return s;
  }

  double number(const json& obj, const std::string& prefix, const char* key) const {
    const json& v = get(obj, prefix, key);
    if (!v.is_number()) fail(prefix + key, "must be a number, not " + std::string(v.type_name()));
    double d = v.get<double>();
    if (!std::isfinite(d)) fail(prefix + key, "must be finite");
    return d;
  }

  int integer(const json& obj, const std::string& prefix, const char* key, int lo,
              int hi) const {
    const json& v = get(obj, prefix, key);
    if (!v.is_number_integer())
      fail(prefix + key, "must be an integer, not " + std::string(v.type_name()));
    auto i = v.get<std::int64_t>();
    if (i < lo || i > hi)
      fail(prefix + key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                             "], got " + std::to_string(i));
    return static_cast<int>(i);
  }

  const json& object(const json& obj, const std::string& prefix, const char* key) const {
    const json& v = get(obj, prefix, key);
    if (!v.is_object()) fail(prefix + key, "must be an object, not " + std::string(v.type_name()));
    return v;
  }

  template <class E, std::size_t N>
  E choice(const json& obj, const std::string& prefix, const char* key,
           const std::pair<const char*, E> (&options)[N]) const {
    std::string s = str(obj, prefix, key);
    std::string allowed;
    for (const auto& [name, value] : options) {
      if (s == name) return value;
      allowed += (allowed.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    }
    fail(prefix + key, "\"" + s + "\" is not one of " + allowed);
  }

  std::array<float, 3> triple(const json& obj, const char* key) const {
    const json& v = get(obj, "", key);
    if (!v.is_array() || v.size() != 3) fail(key, "must be an array of 3 numbers");
    std::array<float, 3> out{};
    for (int i = 0; i < 3; ++i) {
      if (!v[i].is_number()) fail(key, "element " + std::to_string(i) + " is not a number");
      double d = v[i].get<double>();
      if (!std::isfinite(d)) fail(key, "element " + std::to_string(i) + " is not finite");
      out[i] = static_cast<float>(d);
    }
    return out;
  }

 private:
  std::string origin_;
};

constexpr std::pair<const char*, DType> kDTypes[] = {{"uint8", DType::kU8},
                                                     {"float32", DType::kF32}};
constexpr std::pair<const char*, TensorLayout> kLayouts[] = {{"NHWC", TensorLayout::kNHWC},
                                                             {"NCHW", TensorLayout::kNCHW}};
constexpr std::pair<const char*, ColorOrder> kColors[] = {{"RGB", ColorOrder::kRGB},
                                                          {"BGR", ColorOrder::kBGR}};
constexpr std::pair<const char*, ResizePolicy> kResizes[] = {
    {"squash", ResizePolicy::kSquash},
    {"short_side_crop", ResizePolicy::kShortSideCrop},
    {"letterbox", ResizePolicy::kLetterbox}};
constexpr std::pair<const char*, LetterboxAlign> kAligns[] = {
    {"center", LetterboxAlign::kCenter}, {"top_left", LetterboxAlign::kTopLeft}};
constexpr std::pair<const char*, DetectorHead> kHeads[] = {{"yolox", DetectorHead::kYolox},
                                                           {"gfl", DetectorHead::kGfl},
                                                           {"centernet", DetectorHead::kCenterNet}};
constexpr std::pair<const char*, Interpolation> kInterps[] = {
    {"area", Interpolation::kArea},
    {"linear", Interpolation::kLinear},
    {"cubic", Interpolation::kCubic}};
constexpr std::pair<const char*, QuantMethod> kQuantMethods[] = {
    {"minmax", QuantMethod::kMinMax},
    {"percentile", QuantMethod::kPercentile},
    {"entropy", QuantMethod::kEntropy}};
constexpr std::pair<const char*, EmbeddingNorm> kNorms[] = {{"l2", EmbeddingNorm::kL2},
                                                            {"none", EmbeddingNorm::kNone}};

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

namespace {
ModelCard parse_model_card_json(const std::string& json_text, const std::string& origin);
}  // namespace

ModelCard parse_model_card(const std::string& json_text, const std::string& origin) {
  // Any of the JSON library's exceptions (a parse error, a number that overflows — found by
  // fuzzing —, a type error) is the card's fault: report it as one, never let it escape.
  try {
    return parse_model_card_json(json_text, origin);
  } catch (const json::exception& e) {
    throw Error("model card " + origin + ": not valid JSON: " + e.what());
  }
}

namespace {

std::vector<std::string> string_list(CardReader& r, const json& d, const char* key) {
  const json& v = r.get(d, "detector.", key);
  if (!v.is_array() || v.empty() || v.size() > 4096)
    r.fail(std::string("detector.") + key, "must be a non-empty list of strings");
  std::vector<std::string> out;
  for (const json& e : v) {
    if (!e.is_string() || e.get<std::string>().empty())
      r.fail(std::string("detector.") + key, "must be a non-empty list of non-empty strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

DetectorSpec parse_detector(CardReader& r, const json& d) {
  DetectorSpec s;
  s.head = r.choice(d, "detector.", "head", kHeads);
  s.outputs = string_list(r, d, "outputs");
  s.classes = string_list(r, d, "classes");
  const json& st = r.get(d, "detector.", "strides");
  if (!st.is_array() || st.empty() || st.size() > 8)
    r.fail("detector.strides", "must be a list of 1 to 8 strides");
  for (const json& e : st) {
    if (!e.is_number_integer() || e.get<std::int64_t>() < 1 || e.get<std::int64_t>() > 1024)
      r.fail("detector.strides", "each stride must be an integer in 1..1024");
    s.strides.push_back(e.get<int>());
  }
  const std::size_t levels = s.strides.size();
  switch (s.head) {
    case DetectorHead::kYolox:
      if (s.outputs.size() != 1) r.fail("detector.outputs", "a yolox head has one output");
      break;
    case DetectorHead::kGfl:
      if (s.outputs.size() != 2 * levels)
        r.fail("detector.outputs", "a gfl head has a score and a distribution output per stride");
      if (d.contains("reg_max")) s.reg_max = r.integer(d, "detector.", "reg_max", 1, 64);
      break;
    case DetectorHead::kCenterNet:
      if (levels != 1) r.fail("detector.strides", "a centernet head has one stride");
      if (s.outputs.size() < 3)
        r.fail("detector.outputs", "a centernet head reads heatmap, size and offset outputs");
      break;
  }
  const auto fraction = [&](const char* key, float& out) {
    if (!d.contains(key)) return;
    const double v = r.number(d, "detector.", key);
    if (!(v >= 0.0 && v <= 1.0)) r.fail(std::string("detector.") + key, "must be in [0, 1]");
    out = static_cast<float>(v);
  };
  fraction("score_threshold", s.score_threshold);
  fraction("nms_iou", s.nms_iou);
  if (d.contains("max_detections"))
    s.max_detections = r.integer(d, "detector.", "max_detections", 1, 100000);
  return s;
}

std::string hex64(CardReader& r, const json& obj, const std::string& prefix, const char* key) {
  std::string s = lower(r.str(obj, prefix, key));
  if (!is_hex64(s)) r.fail(prefix + key, "must be 64 hexadecimal digits");
  return s;
}

// `precisions`: what the publisher allows for the card's own file. int8 is not a
// precision of a file but a file of its own (a sibling card, `quantized`).
std::vector<std::string> parse_precisions(CardReader& r, const json& j) {
  const json& v = r.get(j, "", "precisions");
  if (!v.is_array()) r.fail("precisions", "must be a list such as [\"fp32\", \"bf16\"]");
  std::vector<std::string> out;
  for (const json& e : v) {
    if (!e.is_string()) r.fail("precisions", "must be a list of strings");
    const std::string p = e.get<std::string>();
    if (p == "int8")
      r.fail("precisions", "\"int8\" is not a precision of this file: an int8 model is a card of "
                           "its own, named by 'quantized'");
    if (p != "fp32" && p != "bf16") r.fail("precisions", "\"" + p + "\" is not one of \"fp32\", \"bf16\"");
    if (std::find(out.begin(), out.end(), p) != out.end()) r.fail("precisions", "\"" + p + "\" is listed twice");
    out.push_back(p);
  }
  if (std::find(out.begin(), out.end(), "fp32") == out.end())
    r.fail("precisions", "must list \"fp32\" (every file runs in fp32)");
  return out;
}

QuantizationInfo parse_quantization(CardReader& r, const json& q) {
  QuantizationInfo info;
  const json& from = r.object(q, "quantization.", "from");
  info.from_file = r.str(from, "quantization.from.", "file");
  if (std::filesystem::path(info.from_file).has_parent_path())
    r.fail("quantization.from.file", "must be a file name, not a path");
  info.from_sha256 = hex64(r, from, "quantization.from.", "sha256");
  info.method = r.choice(q, "quantization.", "method", kQuantMethods);
  info.images = r.integer(q, "quantization.", "images", 1, 1 << 30);
  info.calibration_sha256 = hex64(r, q, "quantization.", "calibration_sha256");
  const json& kept = r.get(q, "quantization.", "kept_fp32");
  if (!kept.is_array()) r.fail("quantization.kept_fp32", "must be a list of node names (may be empty)");
  for (const json& e : kept) {
    if (!e.is_string() || e.get<std::string>().empty())
      r.fail("quantization.kept_fp32", "must be a list of non-empty node names");
    info.kept_fp32.push_back(e.get<std::string>());
  }
  const json& cos = r.object(q, "quantization.", "cosine");
  info.cosine_images = r.integer(cos, "quantization.cosine.", "images", 1, 1 << 30);
  const auto cosine = [&](const char* key) {
    const double c = r.number(cos, "quantization.cosine.", key);
    if (!(c >= -1.0 && c <= 1.0)) r.fail(std::string("quantization.cosine.") + key, "must be a cosine in [-1, 1]");
    return c;
  };
  info.cosine_median = cosine("median");
  info.cosine_p01 = cosine("p01");
  info.cosine_min = cosine("min");
  return info;
}

// precisions, quantized, quantization (model_card.h): read before the sections that
// differ between detectors and embedding models, since both may be quantised.
void parse_precision_fields(CardReader& r, const json& j, ModelCard& c) {
  if (j.contains("precisions")) c.precisions = parse_precisions(r, j);
  if (j.contains("quantized")) {
    c.quantized = r.str(j, "", "quantized");
    if (!is_model_card_path(c.quantized) || std::filesystem::path(c.quantized).is_absolute())
      r.fail("quantized", "'" + c.quantized + "' must be a card (.json) relative to this card's directory");
  }
  if (!j.contains("quantization")) return;
  c.quantization = parse_quantization(r, r.object(j, "", "quantization"));
  if (!c.quantized.empty())
    r.fail("quantized", "an int8 card (it has 'quantization') cannot name a quantized sibling");
  if (card_allows_bf16(c))
    r.fail("precisions", "an int8 card (it has 'quantization') cannot list \"bf16\"");
  if (c.quantization->from_sha256 == c.sha256)
    r.fail("quantization.from.sha256", "is the card's own sha256: an int8 card describes the QDQ "
                                       "file, and 'from' the fp32 file it was made from");
}

ModelCard parse_model_card_json(const std::string& json_text, const std::string& origin) {
  CardReader r(origin);
  json j = json::parse(json_text);
  if (!j.is_object()) throw Error("model card " + origin + ": top level must be an object");

  ModelCard c;
  c.path = origin;
  c.raw_json = json_text;
  c.name = r.str(j, "", "name");
  c.description = r.str(j, "", "description", /*allow_empty=*/true);
  c.file = r.str(j, "", "file");
  c.sha256 = lower(r.str(j, "", "sha256"));
  if (!is_hex64(c.sha256)) r.fail("sha256", "must be 64 hexadecimal digits");
  if (j.contains("source")) {
    const json& s = r.object(j, "", "source");
    for (const auto& [k, v] : s.items())
      c.source[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (j.contains("license")) c.license = r.str(j, "", "license", true);
  {
    const json& v = r.get(j, "", "pretrained");
    if (!v.is_boolean()) r.fail("pretrained", "must be true or false");
    c.pretrained = v.get<bool>();
  }

  const json& in = r.object(j, "", "input");
  c.input.name = r.str(in, "input.", "name");
  c.input.dtype = r.choice(in, "input.", "dtype", kDTypes);
  c.input.layout = r.choice(in, "input.", "layout", kLayouts);
  c.input.color = r.choice(in, "input.", "color", kColors);
  c.input.height = r.integer(in, "input.", "height", 1, 16384);
  c.input.width = r.integer(in, "input.", "width", 1, 16384);

  c.resize = r.choice(j, "", "resize", kResizes);
  c.interpolation = r.choice(j, "", "interpolation", kInterps);
  if (j.contains("pad_value")) c.pad_value = r.integer(j, "", "pad_value", 0, 255);
  if (j.contains("letterbox_align")) c.letterbox_align = r.choice(j, "", "letterbox_align", kAligns);

  const double scale = r.number(j, "", "scale");
  if (!(scale > 0)) r.fail("scale", "must be > 0");
  c.scale = static_cast<float>(scale);
  c.mean = r.triple(j, "mean");
  c.stddev = r.triple(j, "std");
  for (int i = 0; i < 3; ++i)
    if (!(c.stddev[i] > 0)) r.fail("std", "element " + std::to_string(i) + " must be > 0");
  if (c.input.dtype == DType::kU8 &&
      (c.scale != 1.f || c.mean != std::array<float, 3>{0, 0, 0} ||
       c.stddev != std::array<float, 3>{1, 1, 1}))
    r.fail("scale/mean/std",
           "a uint8 input takes raw pixels: scale must be 1, mean 0 and std 1 "
           "(normalisation then happens inside the network)");

  parse_precision_fields(r, j, c);

  if (j.contains("detector")) {
    if (j.contains("embedding"))
      r.fail("detector", "a card describes a detector or an embedding model, not both");
    c.detector = parse_detector(r, r.object(j, "", "detector"));
    return c;
  }
  const json& emb = r.object(j, "", "embedding");
  c.embedding.output = r.str(emb, "embedding.", "output");
  c.embedding.dim = r.integer(emb, "embedding.", "dim", 1, 1 << 20);
  c.embedding.normalize = r.choice(emb, "embedding.", "normalize", kNorms);

  const json& dd = r.object(j, "", "dedup");
  const double t = r.number(dd, "dedup.", "threshold");
  if (!(t > -1.0 && t <= 1.0)) r.fail("dedup.threshold", "must be a cosine in (-1, 1]");
  c.dedup_threshold = static_cast<float>(t);
  return c;
}

}  // namespace

ModelCard load_model_card(const std::string& json_path) {
  std::ifstream in(json_path, std::ios::binary);
  if (!in) throw Error("model card " + json_path + ": cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("model card " + json_path + ": read error");
  return parse_model_card(ss.str(), json_path);
}

std::string card_path_for_model(const std::string& onnx_path) {
  std::filesystem::path p(onnx_path);
  p.replace_extension(".json");
  return p.string();
}

void verify_model_file(const ModelCard& card, const std::string& onnx_path) {
  std::string actual;
  try {
    actual = sha256_file(onnx_path);
  } catch (const Error& e) {
    throw Error("model " + onnx_path + " (card " + card.path + "): " + e.what());
  }
  if (actual != lower(card.sha256))
    throw Error("model " + onnx_path + " has sha256 " + actual + " but its card " + card.path +
                " pins " + card.sha256 +
                ": the file is not the one the card describes (re-run scripts/fetch-models.sh "
                "or regenerate the card)");
}

bool is_model_card_path(const std::string& path) {
  return lower(std::filesystem::path(path).extension().string()) == ".json";
}

ModelFiles resolve_model(const std::string& model_or_card) {
  ModelFiles m;
  if (is_model_card_path(model_or_card)) {
    m.card = load_model_card(model_or_card);
    const std::filesystem::path file(m.card.file);
    if (file.is_absolute() || file.has_parent_path())
      throw Error("model card " + model_or_card + ": field 'file': '" + m.card.file +
                  "' must be a file name in the card's directory");
    m.onnx = (std::filesystem::path(model_or_card).parent_path() / file).string();
  } else {
    m.onnx = model_or_card;
    const std::string card_path = card_path_for_model(model_or_card);
    if (!std::filesystem::exists(card_path))
      throw Error("model " + model_or_card + " has no model card: expected " + card_path +
                  " beside it");
    m.card = load_model_card(card_path);
  }
  if (!std::filesystem::exists(m.onnx))
    throw Error("model " + m.onnx + " (card " + m.card.path +
                "): no such file; a pretrained model is fetched by scripts/fetch-models.sh");
  verify_model_file(m.card, m.onnx);
  return m;
}

bool card_allows_bf16(const ModelCard& card) {
  return std::find(card.precisions.begin(), card.precisions.end(), "bf16") != card.precisions.end();
}

ModelFiles resolve_quantized_sibling(const ModelCard& card) {
  if (card.quantized.empty())
    throw Error("model card " + card.path + " names no quantized sibling (no 'quantized' field)");
  const std::string path =
      (std::filesystem::path(card.path).parent_path() / card.quantized).lexically_normal().string();
  const std::string named = "the quantized sibling " + path + " named by model card " + card.path;
  if (!std::filesystem::exists(path))
    throw Error(named + ": no such file (make it with `pixelmill model quantize`, or remove "
                "'quantized' from the card)");
  ModelFiles m = resolve_model(path);
  const ModelCard& q = m.card;
  if (!q.quantization)
    throw Error(named + " is not an int8 card (it has no 'quantization' section)");
  if (q.quantization->from_sha256 != card.sha256)
    throw Error("the quantized sibling " + path + " was made from another model file (sha256 " +
                q.quantization->from_sha256 + "), not this card's " + card.path + " (sha256 " +
                card.sha256 + "): quantize again (`pixelmill model quantize`)");
  if (q.detector.has_value() != card.detector.has_value())
    throw Error(named + " is " + (q.detector ? "a detector's" : "an embedding model's") + " card; " +
                card.path + " is " + (card.detector ? "a detector's" : "an embedding model's"));
  if (q.embedding.dim != card.embedding.dim || q.embedding.normalize != card.embedding.normalize)
    throw Error(named + " gives " + std::to_string(q.embedding.dim) + "-d embeddings (normalize " +
                (q.embedding.normalize == EmbeddingNorm::kL2 ? "l2" : "none") + "), the card " +
                std::to_string(card.embedding.dim) + "-d (normalize " +
                (card.embedding.normalize == EmbeddingNorm::kL2 ? "l2" : "none") +
                "): they are not the same network");
  return m;
}

std::string_view quant_method_name(QuantMethod m) {
  for (const auto& [name, value] : kQuantMethods)
    if (value == m) return name;
  return "unknown";
}

std::string_view layout_name(TensorLayout l) {
  return l == TensorLayout::kNHWC ? "NHWC" : "NCHW";
}

std::string_view resize_policy_name(ResizePolicy p) {
  switch (p) {
    case ResizePolicy::kSquash: return "squash";
    case ResizePolicy::kShortSideCrop: return "short_side_crop";
    case ResizePolicy::kLetterbox: return "letterbox";
  }
  return "unknown";
}

std::string_view detector_head_name(DetectorHead h) {
  for (const auto& [name, value] : kHeads)
    if (value == h) return name;
  return "unknown";
}

std::string_view interpolation_name(Interpolation i) {
  switch (i) {
    case Interpolation::kArea: return "area";
    case Interpolation::kLinear: return "linear";
    case Interpolation::kCubic: return "cubic";
  }
  return "unknown";
}

}  // namespace pm
