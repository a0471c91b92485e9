#include "calibration_images.h"

#include <algorithm>
#include <random>

#include "pixelmill/decode.h"
#include "pixelmill/error.h"
#include "pixelmill/preprocess.h"
#include "pixelmill/sha256.h"
#include "pixelmill/sources.h"

namespace pm::quantize {

namespace {

// Fisher-Yates with the raw output of a fixed-seed mt19937_64 (std::shuffle's use of the
// generator is the library's choice): the same sample on every machine.
void fixed_shuffle(std::vector<std::string>& keys) {
  std::mt19937_64 gen(0x9e3779b97f4a7c15ULL);
  for (std::size_t i = keys.size(); i > 1; --i) std::swap(keys[i - 1], keys[gen() % i]);
}

// Appends decoded images to batches of at most `batch`.
class Batcher {
 public:
  Batcher(const ModelCard& card, int batch, std::vector<Tensor>& out) : card_(card), batch_(batch), out_(out) {}
  void add(const cv::Mat& rgb) {
    pending_.push_back(rgb);
    if (static_cast<int>(pending_.size()) == batch_) flush();
  }
  void flush() {
    if (pending_.empty()) return;
    Tensor t = make_batch_tensor(card_, static_cast<int>(pending_.size()));
    for (std::size_t i = 0; i < pending_.size(); ++i) preprocess_into(pending_[i], card_, t, static_cast<int>(i));
    out_.push_back(std::move(t));
    pending_.clear();
  }

 private:
  const ModelCard& card_;
  int batch_;
  std::vector<Tensor>& out_;
  std::vector<cv::Mat> pending_;
};

}  // namespace

CalibrationImages load_calibration_images(const ModelCard& card, const QuantizeOptions& o) {
  if (o.calibration.rfind("dir:", 0) != 0 && o.calibration.rfind("list:", 0) != 0)
    throw Error("--calibration must be dir:PATH or list:FILE, not '" + o.calibration + "'");
  SourceOptions so;
  so.max_record_bytes = o.max_bytes;
  auto source = open_source(o.calibration, so);
  std::vector<std::string> keys;
  for (const auto& split : source->plan()) keys.insert(keys.end(), split.items.begin(), split.items.end());
  fixed_shuffle(keys);

  DecodeOptions dopt;
  dopt.target_width = card.input.width;
  dopt.target_height = card.input.height;
  dopt.max_pixels = o.max_pixels;
  dopt.max_bytes = o.max_bytes;
  CalibrationImages out;
  Batcher calibration(card, o.batch, out.calibration), check(card, o.batch, out.check);
  Sha256 hash;
  std::mt19937_64 crop_gen(20261130);
  const int want = o.images + o.check_images;
  for (std::size_t next = 0; next < keys.size() && out.calibration_count + out.check_count < want;) {
    SplitSpec chunk;
    const std::size_t end = std::min(keys.size(), next + static_cast<std::size_t>(want));
    chunk.items.assign(keys.begin() + static_cast<std::ptrdiff_t>(next), keys.begin() + static_cast<std::ptrdiff_t>(end));
    next = end;
    source->read_split(chunk, [&](Record&& r) {
      DecodedImage img;
      if (r.status.is_ok()) img = decode_image(r.bytes, dopt);
      if (!r.status.is_ok() || !img.status.is_ok()) {
        ++out.skipped;
        return true;
      }
      if (out.calibration_count < o.images) {
        const std::string len = std::to_string(r.key.size()) + ":";
        hash.update(len);
        hash.update(r.key);
        hash.update(to_hex(sha256(r.bytes)));
        calibration.add(img.rgb);
        ++out.calibration_count;
      } else {
        // Whole and as two crops (25-70 % of each side), as near-duplicate search sees
        // pictures: crops are where int8 loses most.
        check.add(img.rgb);
        for (int k = 0; k < 2; ++k) {
          const double side = 0.25 + 0.45 * static_cast<double>(crop_gen() % 1000) / 1000.0;
          const int cw = std::max(16, static_cast<int>(img.rgb.cols * side));
          const int ch = std::max(16, static_cast<int>(img.rgb.rows * side));
          if (cw > img.rgb.cols || ch > img.rgb.rows) continue;
          const int x0 = static_cast<int>(crop_gen() % static_cast<std::uint64_t>(img.rgb.cols - cw + 1));
          const int y0 = static_cast<int>(crop_gen() % static_cast<std::uint64_t>(img.rgb.rows - ch + 1));
          check.add(img.rgb(cv::Rect(x0, y0, cw, ch)).clone());
          ++out.check_crops;
        }
        ++out.check_count;
      }
      return out.calibration_count + out.check_count < want;
    });
  }
  calibration.flush();
  check.flush();
  out.sha256 = to_hex(hash.finish());
  if (out.calibration_count < o.images || out.check_count < o.check_images)
    throw Error("--calibration " + o.calibration + ": " + std::to_string(out.calibration_count + out.check_count) +
                " decodable images (" + std::to_string(out.skipped) + " skipped), " + std::to_string(want) +
                " needed (--images " + std::to_string(o.images) + " + --check-images " +
                std::to_string(o.check_images) + ")");
  return out;
}

}  // namespace pm::quantize
