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

// Embeddings of `crops` (one per entry, cut from decoded images) by the crop model, L2-
// normalised when its card says so; `session` runs it. A file with a fixed batch size
// runs them in batches of that size, the last one padded.
std::vector<std::vector<float>> embed_crops(engine::Session& session, const CropEmbedding& ce,
                                            const std::vector<cv::Mat>& crops) {
  const auto& in = ce.model->inputs();
  const std::int64_t fixed = !in.empty() && !in[0].shape.empty() && in[0].shape[0] > 0 ? in[0].shape[0] : 0;
  const auto n = static_cast<std::int64_t>(crops.size());
  const std::int64_t step = fixed > 0 ? fixed : std::max<std::int64_t>(n, 1);
  const int dim = ce.card.embedding.dim;
  std::vector<std::vector<float>> out;
  for (std::int64_t first = 0; first < n; first += step) {
    const std::int64_t rows = std::min(step, n - first);
    const std::int64_t batch_rows = fixed > 0 ? fixed : rows;
    Tensor batch = make_batch_tensor(ce.card, static_cast<int>(batch_rows));
    for (std::int64_t r = 0; r < rows; ++r) preprocess_into(crops[static_cast<std::size_t>(first + r)], ce.card, batch, static_cast<int>(r));
    const std::vector<Tensor> res = session.run({batch});
    const Tensor& emb = res.at(static_cast<std::size_t>(ce.output));
    if (emb.dtype() != DType::kF32 || emb.shape() != Dims{batch_rows, dim})
      throw Error("crop model output has shape " + dims_str(emb.shape()) + ", its card says [" +
                  std::to_string(batch_rows) + "," + std::to_string(dim) + "]");
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* e = emb.ptr<float>() + r * dim;
      out.emplace_back(e, e + dim);
      if (ce.normalize_l2) normalize_l2(out.back().data(), dim);
    }
  }
  return out;
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
    std::vector<cv::Mat> crops;
    for (const Detection& d : dets) crops.push_back(img.rgb(crop_rect(d, job_->crop_margin, img)));
    std::vector<std::vector<float>> emb = embed_crops(crops_, job_->crops, crops);
    for (std::size_t i = 0; i < dets.size(); ++i) {
      ObjectResult o;
      o.box = dets[i].box;
      o.score = dets[i].score;
      o.cls = dets[i].cls;
      o.embedding = std::move(emb[i]);
      row.objects.push_back(std::move(o));
    }
  }

 private:
  std::shared_ptr<const DetectionJob> job_;
  Detector detector_;
  engine::Session crops_;
};

}  // namespace

void check_detection_job(const DetectionJob& job) {
  const ModelCard& dc = job.detector_card;
  // A grey picture of the detector's input size: the head is decoded (its shapes checked)
  // whether or not it finds anything.
  const cv::Mat grey(dc.input.height, dc.input.width, CV_8UC3, cv::Scalar(128, 128, 128));
  Detector det(job.detector, dc, job.params);
  det.detect({grey}, {grey.size()});
  engine::Session crops(job.crops.model);
  embed_crops(crops, job.crops, {grey});
}

AnnotatorFactory detection_annotator(std::shared_ptr<const DetectionJob> job) {
  return [job]() -> std::unique_ptr<ObjectAnnotator> { return std::make_unique<DetectionAnnotator>(job); };
}

}  // namespace pm::pipeline
