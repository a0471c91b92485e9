#include "object_annotator.h"

#include <algorithm>
#include <cmath>

#include "infer_stage.h"
#include "pixelmill/error.h"
#include "pixelmill/preprocess.h"

namespace pm::pipeline {

namespace {

// The crop of a box (full-size pixels) with its margin, in the decoded image's pixels
// (a reduced decode is smaller), at least one pixel.
cv::Rect crop_rect(const Detection& d, double margin, const DecodedImage& img) {
  const double fx = static_cast<double>(img.rgb.cols) / std::max(1, img.width);
  const double fy = static_cast<double>(img.rgb.rows) / std::max(1, img.height);
  const double w = d.box[2] - d.box[0], h = d.box[3] - d.box[1];
  const double x0 = (d.box[0] - margin * w) * fx, x1 = (d.box[2] + margin * w) * fx;
  const double y0 = (d.box[1] - margin * h) * fy, y1 = (d.box[3] + margin * h) * fy;
  const int cx0 = std::clamp(static_cast<int>(std::floor(x0)), 0, img.rgb.cols - 1);
  const int cy0 = std::clamp(static_cast<int>(std::floor(y0)), 0, img.rgb.rows - 1);
  const int cx1 = std::clamp(static_cast<int>(std::ceil(x1)), cx0 + 1, img.rgb.cols);
  const int cy1 = std::clamp(static_cast<int>(std::ceil(y1)), cy0 + 1, img.rgb.rows);
  return {cx0, cy0, cx1 - cx0, cy1 - cy0};
}

class DetectionAnnotator final : public ObjectAnnotator {
 public:
  explicit DetectionAnnotator(std::shared_ptr<const DetectionJob> job)
      : job_(std::move(job)),
        detector_(job_->detector, job_->detector_card, job_->params),
        crops_(job_->crops.model) {}

  void annotate(const DecodedImage& img, ImageResult& row) override {
    const auto dets = detector_.detect({img.rgb}, {cv::Size(img.width, img.height)})[0];
    row.objects.clear();
    if (dets.empty()) return;
    const CropEmbedding& ce = job_->crops;
    Tensor batch = make_batch_tensor(ce.card, static_cast<int>(dets.size()));
    for (std::size_t i = 0; i < dets.size(); ++i)
      preprocess_into(img.rgb(crop_rect(dets[i], job_->crop_margin, img)), ce.card, batch, static_cast<int>(i));
    const std::vector<Tensor> out = crops_.run({batch});
    const Tensor& emb = out.at(static_cast<std::size_t>(ce.output));
    const int dim = ce.card.embedding.dim;
    if (emb.dtype() != DType::kF32 || emb.shape() != Dims{static_cast<std::int64_t>(dets.size()), dim})
      throw Error("crop model output has shape " + dims_str(emb.shape()) + ", its card says [" +
                  std::to_string(dets.size()) + "," + std::to_string(dim) + "]");
    for (std::size_t i = 0; i < dets.size(); ++i) {
      ObjectResult o;
      o.box = dets[i].box;
      o.score = dets[i].score;
      o.cls = dets[i].cls;
      const float* e = emb.ptr<float>() + i * static_cast<std::size_t>(dim);
      o.embedding.assign(e, e + dim);
      if (ce.normalize_l2) normalize_l2(o.embedding.data(), dim);
      row.objects.push_back(std::move(o));
    }
  }

 private:
  std::shared_ptr<const DetectionJob> job_;
  Detector detector_;
  engine::Session crops_;
};

}  // namespace

AnnotatorFactory detection_annotator(std::shared_ptr<const DetectionJob> job) {
  return [job]() -> std::unique_ptr<ObjectAnnotator> { return std::make_unique<DetectionAnnotator>(job); };
}

}  // namespace pm::pipeline
