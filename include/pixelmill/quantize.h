// `pixelmill model quantize`: post-training static quantization of a carded fp32 model.
//
// 1. Calibration: images from dir:/list: (a fixed-seed sample, decoded and preprocessed as
//    the card says) run through the fp32 model; each quantized layer's input range is taken
//    by --method (minmax, percentile, or entropy: the range whose 255-step quantization of
//    the activation histogram loses least information, KL divergence).
//    First (with --equalize), activations between two convolutions are equalized: their
//    channels rescaled so that one scale per tensor fits them all (QdqModel::equalize).
// 2. Accuracy: other images of the same source (never the calibration ones), each whole and
//    as two crops, are embedded in fp32 and in int8; the cosine of each pair is the measure.
//    Each layer is first quantized alone (its sensitivity); then the most sensitive layers
//    are kept in fp32 until the median and 1st percentile of the cosines reach
//    --target-cosine; then each kept layer goes back to int8, costliest first, where the
//    target still holds without it.
// 3. The QDQ model (pixelmill/qdq.h) and its card: the fp32 card with the new file and
//    hash and a "quantization" section (method, calibration hash, the fp32 model's hash,
//    the layers kept fp32, the cosines measured).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pixelmill/model_card.h"
#include "pixelmill/qdq.h"

namespace pm {

enum class CalibrationMethod : std::uint8_t { kMinMax, kPercentile, kEntropy };
CalibrationMethod parse_calibration_method(const std::string& name);  // throws pm::Error
const char* calibration_method_name(CalibrationMethod m);

// One activation's values over the calibration images, for its uint8 range. Two passes:
// observe_extremes on every batch, then (percentile, entropy) observe_histogram on every
// batch again, over bins that the first pass fixed.
class RangeObserver {
 public:
  static constexpr int kBins = 2048;
  void observe_extremes(const float* x, std::int64_t n);
  void observe_histogram(const float* x, std::int64_t n);
  bool needs_histogram(CalibrationMethod m) const { return m != CalibrationMethod::kMinMax; }
  // percentile: the top of the range is this percentile of the values (e.g. 99.99), the
  // bottom (of a signed activation) the (100 - p)th.
  engine::ActivationRange range(CalibrationMethod m, double percentile) const;

 private:
  float lo_ = 0.f, hi_ = 0.f;  // extremes seen, widened to include 0
  bool seen_ = false;
  std::vector<double> signed_;  // kBins over [lo_, hi_]
  std::vector<double> abs_;     // kBins over [0, max(-lo_, hi_)]
};

// The threshold (in bins) whose `levels`-step quantization of hist[0..threshold) with the
// tail folded into its last bin diverges least (KL) from it: the entropy calibration of
// TensorRT. `hist` has at least `levels` bins.
int entropy_threshold_bins(const std::vector<double>& hist, int levels);

struct QuantizeOptions {
  std::string model;        // the fp32 model's card (or its ONNX file, with the card beside it)
  std::string calibration;  // dir:PATH or list:FILE
  int images = 64;          // calibration images
  int check_images = 32;    // further images for the accuracy check (at least 4)
  CalibrationMethod method = CalibrationMethod::kMinMax;  // measured best with the selection (perf/README)
  double percentile = 99.99;
  // Keep the most sensitive layers fp32 until the check's median and 1st percentile
  // cosine reach this; 0 = quantize every layer. Above 0.99 so that images the check
  // never saw keep 0.99: at 0.99 the default model's 1st percentile was 0.989 on one
  // held-out set (perf/README, "int8").
  double target_cosine = 0.993;
  std::vector<std::string> keep_fp32;  // node names left fp32 whatever the check says
  // Rescale the channels of Conv -> [Relu] -> Conv activations before calibrating
  // (QdqModel::equalize), from their per-channel maxima on the calibration images.
  // Off by default: on the default model it made int8 worse (perf/README, "int8").
  bool equalize = false;
  std::string output;       // the QDQ .onnx file; its card is written beside it (.json)
  int batch = 8;
  int threads = 0;
  std::int64_t max_bytes = 64 << 20;        // per image file
  std::int64_t max_pixels = 178956970;
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct CosineStats {
  int images = 0;  // embeddings compared: the check images and their crops
  double median = 0, p01 = 0, min = 0;
};

struct LayerSensitivity {
  engine::QuantTarget target;
  double mean_cosine = 1;  // of the check images' embeddings with this layer alone quantized
  bool quantized = false;  // in the written model
};

struct QuantizeResult {
  std::string onnx_path, card_path;
  std::string calibration_sha256;  // over the calibration images' keys and bytes, in order
  int calibration_images = 0;
  int equalized = 0;  // activations rescaled per channel
  std::vector<LayerSensitivity> layers;  // in graph order
  CosineStats all_quantized;  // every layer quantized (before any is kept fp32)
  CosineStats written;        // the model written
};

// Runs on one process; throws pm::Error for bad options, a card or file that does not
// fit, or too few decodable images.
QuantizeResult quantize_model(const QuantizeOptions& options);

}  // namespace pm
