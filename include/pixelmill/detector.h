// A detector as `extract --detector` and `model detect` run it: decoded images in, boxes on
// those images out. Preprocesses each image as the card says, runs the network on the
// engine in batches (one image at a time for files exported with batch 1), decodes the
// head (detect.h), applies class-aware NMS and maps the boxes back to the image.
// One Detector per thread (it owns an engine Session); the Model may be shared.
#pragma once

#include <memory>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "pixelmill/detect.h"
#include "pixelmill/engine.h"
#include "pixelmill/model_card.h"

namespace pm {

// Per-run choices over the card's defaults (detector_spec.h).
struct DetectParams {
  float min_score = 0.3f;
  float nms_iou = 0.45f;
  int max_detections = 100;
  std::vector<int> classes;  // keep only these class ids; empty = all
};

// The card's defaults.
DetectParams default_detect_params(const DetectorSpec& spec);

// "face,person" -> the class ids of those names in the card (--classes); empty names are
// skipped; throws pm::Error naming a name the card does not have.
std::vector<int> class_ids(const std::string& list, const DetectorSpec& spec);

// Loads the detector of `files` (a card with a "detector" section; throws pm::Error for an
// embedding model's card). A card whose input size differs from the file's declared one
// (a placeholder) runs at the card's size, any batch.
std::shared_ptr<const engine::Model> load_detector_model(const ModelFiles& files, engine::EngineOptions opts);

class Detector {
 public:
  Detector(std::shared_ptr<const engine::Model> model, ModelCard card, DetectParams params);

  // `rgb[i]` is a decoded image (CV_8UC3, RGB) of a picture whose full size is
  // sizes[i] (a JPEG decoded at reduced size maps its boxes back to full size).
  // Returns, per image, its detections in full-size pixels, best first.
  std::vector<std::vector<Detection>> detect(const std::vector<cv::Mat>& rgb,
                                             const std::vector<cv::Size>& sizes);

  const ModelCard& card() const { return card_; }
  const DetectorSpec& spec() const { return *card_.detector; }
  const DetectParams& params() const { return params_; }

 private:
  std::shared_ptr<const engine::Model> model_;
  engine::Session session_;
  ModelCard card_;
  DetectParams params_;
  std::int64_t fixed_batch_ = 0;  // > 0: the file takes exactly this many images at once
  std::vector<std::size_t> output_index_;  // spec.outputs[i] is graph output output_index_[i]
};

}  // namespace pm
