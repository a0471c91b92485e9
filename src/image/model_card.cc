// Model card loading. Every field is checked with a message that names the file and the
// field, because a wrong card silently produces wrong embeddings (the network still runs
// on badly normalised input), which is far worse than refusing to start.
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
