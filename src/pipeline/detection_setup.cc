#include "detection_setup.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/sha256.h"
#include "precision_setup.h"

namespace pm::pipeline {

void check_detection_options(const ExtractOptions& o) {
  const bool detecting = !o.detector.empty();
  if (!detecting && !o.crop_model.empty()) throw Error("--crop-model needs --detector");
  if (!detecting && !o.classes.empty()) throw Error("--classes needs --detector");
  if (o.max_crops < 1 || o.max_crops > 1000)
    throw Error("--max-crops must be in 1..1000, not " + std::to_string(o.max_crops));
  if (o.min_score != -1 && !(o.min_score >= 0 && o.min_score <= 1))
    throw Error("--min-score must be in [0, 1]");
  if (o.nms_iou != -1 && !(o.nms_iou >= 0 && o.nms_iou <= 1)) throw Error("--nms-iou must be in [0, 1]");
  if (!(o.crop_margin >= 0 && o.crop_margin <= 1)) throw Error("--crop-margin must be in [0, 1]");
}

namespace {


int output_index(const engine::Model& m, const std::string& name, const std::string& what) {
  const auto& outs = m.outputs();
  for (std::size_t i = 0; i < outs.size(); ++i)
    if (outs[i].name == name) return static_cast<int>(i);
  throw Error(what + " has no output '" + name + "' named by its card");
}

}  // namespace

std::shared_ptr<const DetectionJob> load_detection(const Comm& comm, const ExtractOptions& o,
                                                   const CpuCapabilities& cpu, int threads) {
  if (o.detector.empty()) return nullptr;
  auto job = std::make_shared<DetectionJob>();
  // Each network against its own card; an explicit int8 runs fp32 where a card has no
  // quantized sibling (the --model, the default crop model, was refused already).
  ResolvedModel det, crop;
  agreed(comm, "detector", [&] {
    const PrecisionRequest request = parse_precision_request(o.precision);
    det = resolve_model_precision(o.detector, request, cpu, IfNoInt8::kFallBack);
    if (!det.files.card.detector)
      throw Error("--detector " + o.detector + " is an embedding model (its card has no 'detector' section)");
    crop = resolve_model_precision(o.crop_model.empty() ? o.model : o.crop_model, request, cpu,
                                   IfNoInt8::kFallBack);
    if (crop.files.card.detector)
      throw Error("--crop-model " + crop.given_card + " is a detector; crops need an embedding model");
  });
  check_resolved_alike(comm, "detector", det);
  check_resolved_alike(comm, "crop model", crop);
  agreed(comm, "detector", [&] {
    engine::EngineOptions eo;
    eo.reference = o.reference;
    eo.threads = std::max(1, threads);
    eo.precision = engine_precision(det.choice, cpu);
    job->detector = load_detector_model(det.files, eo);
    job->detector_card = det.files.card;
    job->detector_precision = det.choice;
    DetectParams p = default_detect_params(*det.files.card.detector);
    if (o.min_score >= 0) p.min_score = static_cast<float>(o.min_score);
    if (o.nms_iou >= 0) p.nms_iou = static_cast<float>(o.nms_iou);
    p.max_detections = o.max_crops;
    p.classes = class_ids(o.classes, *det.files.card.detector);
    job->params = p;
    job->crop_margin = o.crop_margin;

    eo.precision = engine_precision(crop.choice, cpu);
    job->crops.card = crop.files.card;
    job->crops.model = engine::Model::load(crop.files.onnx, eo);
    job->crops.output = output_index(*job->crops.model, crop.files.card.embedding.output, "crop model " + crop.files.onnx);
    job->crops.normalize_l2 = crop.files.card.embedding.normalize == EmbeddingNorm::kL2;
    job->crop_precision = crop.choice;
    // A card that does not fit its model (strides, classes, input size, embedding size)
    // fails here, on every rank, rather than on every image.
    check_detection_job(*job);
  });
  return job;
}

std::string detection_identity(const DetectionJob* job) {
  if (!job) return "";
  nlohmann::json j = {{"detector_sha256", job->detector_card.sha256},
                      {"detector_card_sha256", sha256_hex(job->detector_card.raw_json)},
                      {"crop_model_sha256", job->crops.card.sha256},
                      {"crop_model_card_sha256", sha256_hex(job->crops.card.raw_json)},
                      {"min_score", job->params.min_score},
                      {"nms_iou", job->params.nms_iou},
                      {"max_crops", job->params.max_detections},
                      {"classes", job->params.classes},
                      {"crop_margin", job->crop_margin},
                      {"detector_precision_ran", run_precision_name(job->detector_precision.precision)},
                      {"crop_model_precision_ran", run_precision_name(job->crop_precision.precision)}};
  return j.dump();
}

void set_detection_attributes(const DetectionJob* job, h5::RunAttributes& attrs) {
  if (!job) return;
  attrs.detection_dim = job->crops.card.embedding.dim;
  attrs.detection_attributes["classes"] = nlohmann::json(job->detector_card.detector->classes).dump();
  attrs.detection_attributes["detector_card"] = job->detector_card.raw_json;
  attrs.detection_attributes["crop_model_card"] = job->crops.card.raw_json;
  attrs.detection_attributes["parameters"] = detection_identity(job);
}

}  // namespace pm::pipeline
