#include "pixelmill/detector.h"

#include <algorithm>
#include <sstream>

#include "pixelmill/error.h"
#include "pixelmill/preprocess.h"

namespace pm {

DetectParams default_detect_params(const DetectorSpec& spec) {
  DetectParams p;
  p.min_score = spec.score_threshold;
  p.nms_iou = spec.nms_iou;
  p.max_detections = spec.max_detections;
  return p;
}

std::vector<int> class_ids(const std::string& list, const DetectorSpec& spec) {
  std::vector<int> ids;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto it = std::find(spec.classes.begin(), spec.classes.end(), item);
    if (it == spec.classes.end()) throw Error("--classes: '" + item + "' is not a class of the detector");
    ids.push_back(static_cast<int>(it - spec.classes.begin()));
  }
  return ids;
}

std::shared_ptr<const engine::Model> load_detector_model(const ModelFiles& files, engine::EngineOptions opts) {
  const ModelCard& card = files.card;
  if (!card.detector)
    throw Error("model card " + card.path + " describes an embedding model, not a detector (no 'detector' section)");
  auto declared = engine::Model::load(files.onnx, opts);
  const auto& ins = declared->inputs();
  const auto it = std::find_if(ins.begin(), ins.end(), [&](const auto& v) { return v.name == card.input.name; });
  if (it == ins.end() || ins.size() != 1)
    throw Error("detector " + files.onnx + ": the card's input '" + card.input.name +
                "' must be the model's only graph input");
  const Dims want = card.input.layout == TensorLayout::kNCHW
                        ? Dims{-1, 3, card.input.height, card.input.width}
                        : Dims{-1, card.input.height, card.input.width, 3};
  bool fits = it->shape.size() == 4;
  for (std::size_t d = 1; fits && d < 4; ++d) fits = it->shape[d] < 0 || it->shape[d] == want[d];
  if (fits) return declared;
  // The declared size is a placeholder: run at the card's size, any batch.
  opts.input_shapes[card.input.name] = want;
  return engine::Model::load(files.onnx, opts);
}

Detector::Detector(std::shared_ptr<const engine::Model> model, ModelCard card, DetectParams params)
    : model_(std::move(model)), session_(model_), card_(std::move(card)), params_(std::move(params)) {
  if (!card_.detector) throw Error("model card " + card_.path + " has no 'detector' section");
  const auto& in = model_->inputs();
  PM_CHECK(in.size() == 1 && !in[0].shape.empty(), "detector model must have one input");
  if (in[0].shape[0] > 0) fixed_batch_ = in[0].shape[0];
  const auto& outs = model_->outputs();
  for (const std::string& name : spec().outputs) {
    const auto it = std::find_if(outs.begin(), outs.end(), [&](const auto& v) { return v.name == name; });
    if (it == outs.end())
      throw Error("model card " + card_.path + ": detector output '" + name + "' is not a graph output");
    output_index_.push_back(static_cast<std::size_t>(it - outs.begin()));
  }
  for (int c : params_.classes)
    if (c < 0 || c >= static_cast<int>(spec().classes.size()))
      throw Error("detector " + card_.name + ": class id " + std::to_string(c) + " out of range 0.." +
                  std::to_string(spec().classes.size() - 1));
}

std::vector<std::vector<Detection>> Detector::detect(const std::vector<cv::Mat>& rgb,
                                                     const std::vector<cv::Size>& sizes) {
  PM_CHECK(rgb.size() == sizes.size(), "Detector::detect: one size per image");
  std::vector<std::vector<Detection>> result(rgb.size());
  const std::int64_t n = static_cast<std::int64_t>(rgb.size());
  const std::int64_t step = fixed_batch_ > 0 ? fixed_batch_ : std::max<std::int64_t>(n, 1);
  for (std::int64_t first = 0; first < n; first += step) {
    const std::int64_t rows = std::min(step, n - first);
    Tensor batch = make_batch_tensor(card_, static_cast<int>(fixed_batch_ > 0 ? fixed_batch_ : rows));
    for (std::int64_t r = 0; r < rows; ++r) preprocess_into(rgb[first + r], card_, batch, static_cast<int>(r));
    std::vector<Tensor> all = session_.run({batch});
    std::vector<Tensor> outs;
    for (std::size_t i : output_index_) outs.push_back(all[i]);
    for (std::int64_t r = 0; r < rows; ++r) {
      const cv::Mat& img = rgb[first + r];
      auto cand = decode_head(spec(), outs, r, card_.input.width, card_.input.height, params_.min_score);
      if (!params_.classes.empty())
        std::erase_if(cand, [&](const Detection& d) {
          return std::find(params_.classes.begin(), params_.classes.end(), d.cls) == params_.classes.end();
        });
      auto kept = nms(std::move(cand), params_.nms_iou, params_.max_detections);
      boxes_to_image(kept, input_mapping(img.cols, img.rows, card_), img.cols, img.rows);
      // A reduced decode (JPEG at 1/2, 1/4, 1/8): scale to the full picture.
      const cv::Size full = sizes[first + r];
      const double fx = static_cast<double>(full.width) / img.cols, fy = static_cast<double>(full.height) / img.rows;
      if (fx != 1.0 || fy != 1.0)
        for (Detection& d : kept)
          d.box = {static_cast<float>(d.box[0] * fx), static_cast<float>(d.box[1] * fy),
                   static_cast<float>(d.box[2] * fx), static_cast<float>(d.box[3] * fy)};
      result[first + r] = std::move(kept);
    }
  }
  return result;
}

}  // namespace pm
