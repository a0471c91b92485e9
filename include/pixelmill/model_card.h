// Model cards: models/<name>.json beside <name>.onnx, the one source of preprocessing
// truth (input size, layout, dtype, colour order, resize policy, normalisation) and of
// what the network's output means (embedding output, dimension, normalisation).
//
// Schema (every field checked by load_model_card; unknown keys are ignored so that
// detector cards can add their own sections):
//   name, description, file (string), sha256 (64 hex digits), source (optional object),
//   license (optional string), pretrained (bool),
//   input {name, dtype "uint8"|"float32", layout "NHWC"|"NCHW", color "RGB"|"BGR",
//          height, width},
//   resize "squash" | "short_side_crop" | "letterbox", interpolation "area"|"linear"|"cubic",
//   pad_value (optional, 0..255, letterbox fill in pixel units, default 0),
//   letterbox_align (optional) "center" (default) | "top_left": where a letterboxed image
//          sits in the input (YOLOX-style detectors are trained on top-left placement),
//   scale, mean[3], std[3]: value = (pixel * scale - mean[c]) / std[c], c in the model's
//          channel order (card "color"); uint8 inputs take raw pixels, so they require
//          scale 1, mean 0, std 1,
//   embedding {output, dim, normalize "l2"|"none"}, dedup {threshold}: required for an
//          embedding model; a detector's card has instead
//   detector {...}: see detector_spec.h.
//
// Precision (extract --precision; pixelmill/model_precision.h decides what runs):
//   precisions (optional) ["fp32", "bf16"]: the precisions the card's publisher allows
//          for this card's own file; "fp32" must be listed, "bf16" may be; absent =
//          ["fp32"]. `--precision auto` runs bf16 only where it is listed.
//   quantized (optional) "NAME.json": the card of a QDQ sibling of this model (int8),
//          a path relative to this card's directory. `auto` runs it where the CPU has
//          VNNI; its quantization.from.sha256 must be this card's sha256.
//   quantization (an int8 card only, as `pixelmill model quantize` writes it): the card's
//          file is a QDQ model made from another one:
//          {"from": {"file": "x.onnx", "sha256": HEX64}, "method": "minmax"|"percentile"|
//           "entropy", "images": N (calibration images), "calibration_sha256": HEX64,
//           "kept_fp32": [node names left unquantised, may be empty],
//           "cosine": {"images": N, "median": C, "p01": C, "min": C} (the quantised
//           model's embeddings against the fp32 model's, on held-out images)}.
//          An int8 card has no `quantized` and does not list "bf16".
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pixelmill/detector_spec.h"
#include "pixelmill/tensor.h"

namespace pm {

enum class TensorLayout : std::uint8_t { kNHWC, kNCHW };
enum class ColorOrder : std::uint8_t { kRGB, kBGR };

// How a decoded image becomes input.height x input.width.
enum class ResizePolicy : std::uint8_t {
  kSquash,         // stretch to HxW, aspect ratio not kept
  kShortSideCrop,  // scale so the image covers HxW, then centre crop
  kLetterbox,      // scale so the image fits inside HxW, centre it, pad with pad_value
};

enum class LetterboxAlign : std::uint8_t { kCenter, kTopLeft };

enum class Interpolation : std::uint8_t { kArea, kLinear, kCubic };
enum class EmbeddingNorm : std::uint8_t { kL2, kNone };

struct ModelInput {
  std::string name;
  DType dtype = DType::kU8;  // kU8 or kF32 only
  TensorLayout layout = TensorLayout::kNHWC;
  ColorOrder color = ColorOrder::kRGB;
  int height = 0;
  int width = 0;
};

struct EmbeddingSpec {
  std::string output;  // graph output name
  int dim = 0;
  // kL2: stored embeddings are unit length (extract divides by the norm, a no-op when
  // the network already does); kNone: stored as the network outputs them.
  EmbeddingNorm normalize = EmbeddingNorm::kL2;
};

enum class QuantMethod : std::uint8_t { kMinMax, kPercentile, kEntropy };

// How an int8 card's QDQ file was made (the card's `quantization` section).
struct QuantizationInfo {
  std::string from_file;     // the fp32 ONNX file it was quantised from (a file name)
  std::string from_sha256;   // that file's sha256, lower-case hex: the fp32 card's sha256
  QuantMethod method = QuantMethod::kMinMax;  // how activation ranges were calibrated
  int images = 0;                             // calibration images
  std::string calibration_sha256;             // of the calibration set (its list of files)
  std::vector<std::string> kept_fp32;         // nodes left in fp32 (mixed precision)
  // Cosine of the int8 embeddings against the fp32 ones on `cosine_images` images.
  int cosine_images = 0;
  double cosine_median = 0, cosine_p01 = 0, cosine_min = 0;
};

struct ModelCard {
  std::string name;
  std::string description;
  std::string file;    // the .onnx file name, relative to the card
  std::string sha256;  // of that file, lower-case hex
  std::map<std::string, std::string> source;  // where the weights come from; empty if absent
                                              // (non-string values kept as JSON text)
  std::string license;                         // empty if absent
  bool pretrained = false;
  ModelInput input;
  ResizePolicy resize = ResizePolicy::kSquash;
  Interpolation interpolation = Interpolation::kArea;
  int pad_value = 0;
  LetterboxAlign letterbox_align = LetterboxAlign::kCenter;
  float scale = 1.0f;
  std::array<float, 3> mean{0.f, 0.f, 0.f};
  std::array<float, 3> stddev{1.f, 1.f, 1.f};  // JSON key "std"
  EmbeddingSpec embedding;       // dim 0 on a detector's card
  float dedup_threshold = 0.f;  // cosine similarity for near-duplicate pairs
  std::optional<DetectorSpec> detector;  // set on a detector's card only
  // Precisions the publisher allows for `file`: "fp32" first, maybe "bf16" (JSON key
  // "precisions"; absent = fp32 only).
  std::vector<std::string> precisions{"fp32"};
  std::string quantized;  // the card of a QDQ sibling, relative to this card ("" = none)
  std::optional<QuantizationInfo> quantization;  // set on an int8 card only

  std::string path;      // where the card was loaded from
  std::string raw_json;  // the file's exact text (stored in output files, hashed)
};

// Parses and validates a card; throws pm::Error naming the file and the field on any
// problem (missing, wrong type, out of range, unknown enum value).
ModelCard load_model_card(const std::string& json_path);

// The same from JSON text already in memory (`origin` names it in error messages).
ModelCard parse_model_card(const std::string& json_text, const std::string& origin);

// "models/x.onnx" -> "models/x.json" (same directory and stem).
std::string card_path_for_model(const std::string& onnx_path);

// Throws pm::Error when the file's sha256 differs from card.sha256 (or it cannot be read).
void verify_model_file(const ModelCard& card, const std::string& onnx_path);

// True when `path` names a model card (a .json file) rather than an ONNX file.
bool is_model_card_path(const std::string& path);

// A model as a user names it, wherever a model is taken: the ONNX file (its card is the
// .json beside it) or the card itself (the ONNX file is the card's `file`, in the card's
// directory). Loads the card and checks the file's sha256 against it; throws pm::Error
// naming both paths when the card or the file is missing or they do not match.
struct ModelFiles {
  std::string onnx;  // the ONNX file to load
  ModelCard card;
};
ModelFiles resolve_model(const std::string& model_or_card);

// The quantized sibling that `card` names (`quantized`): its card loaded, checked to be an
// int8 card made from this card's file (quantization.from.sha256 == card.sha256) of the
// same kind (embedding dimension, or detector), and its file's sha256 checked. Throws
// pm::Error naming both cards otherwise, or when `card` names no sibling.
ModelFiles resolve_quantized_sibling(const ModelCard& card);

// Whether the card's publisher allows bf16 for its file ("bf16" in `precisions`).
bool card_allows_bf16(const ModelCard& card);

std::string_view layout_name(TensorLayout l);
std::string_view quant_method_name(QuantMethod m);
std::string_view resize_policy_name(ResizePolicy r);
std::string_view interpolation_name(Interpolation i);

}  // namespace pm
