// extract --detector: what a decode thread does to a decoded image besides preprocessing
// it for the whole-image embedding. One ObjectAnnotator per decode thread, made on that
// thread (it owns engine sessions); tests may give their own.
#pragma once

#include <functional>
#include <memory>

#include "pixelmill/decode.h"
#include "pixelmill/detector.h"
#include "pixelmill/image_result.h"
#include "pixelmill/model_precision.h"

namespace pm::pipeline {

class ObjectAnnotator {
 public:
  virtual ~ObjectAnnotator() = default;
  // Fills row.objects for the decoded image. Throws pm::Error (or any std::exception)
  // when the networks fail on it: the row then becomes an inference_error row.
  virtual void annotate(const DecodedImage& img, ImageResult& row) = 0;
};
using AnnotatorFactory = std::function<std::unique_ptr<ObjectAnnotator>()>;

// The detector and the crop embedder as extract runs them.
struct CropEmbedding {
  std::shared_ptr<const engine::Model> model;
  ModelCard card;
  int output = 0;          // index of the card's embedding among the model's outputs
  bool normalize_l2 = true;
};
struct DetectionJob {
  std::shared_ptr<const engine::Model> detector;
  ModelCard detector_card;
  DetectParams params;     // max_detections is --max-crops
  double crop_margin = 0;  // each side of a box grows by this fraction of its size
  CropEmbedding crops;
  PrecisionChoice detector_precision;  // what each network ran at (extract --precision)
  PrecisionChoice crop_precision;
};

// Detects, keeps the best params.max_detections boxes, cuts each (with its margin) from
// the decoded image and embeds the crops in one batch (in batches of the crop model's
// fixed batch size, when its file has one).
AnnotatorFactory detection_annotator(std::shared_ptr<const DetectionJob> job);

// Runs both networks once on a synthetic picture and one synthetic crop: throws pm::Error
// when an output does not have the shape its card says.
void check_detection_job(const DetectionJob& job);

}  // namespace pm::pipeline
