#include "preprocess_ref.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "pixelmill/error.h"
#include "preprocess_geometry.h"

namespace pm::image {

void preprocess_reference_into(const cv::Mat& rgb, const ModelCard& card, Tensor& batch,
                               int index) {
  PM_CHECK(rgb.type() == CV_8UC3, "reference preprocess needs CV_8UC3");
  const int W = card.input.width, H = card.input.height;
  const Placement p = place(rgb.size(), card);
  cv::Mat resized;
  cv::resize(rgb(p.source), resized, p.resized, 0, 0, cv_interpolation(card.interpolation));
  for (int c = 0; c < 3; ++c) {
    const int src_c = card.input.color == ColorOrder::kRGB ? c : 2 - c;
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        // Pixel of the resized image that lands at (y, x), or the pad value.
        const int ry = y - p.offset.y + p.roi.y, rx = x - p.offset.x + p.roi.x;
        const bool inside = y >= p.offset.y && y < p.offset.y + p.roi.height &&
                            x >= p.offset.x && x < p.offset.x + p.roi.width;
        const int v = inside ? resized.at<cv::Vec3b>(ry, rx)[src_c] : card.pad_value;
        const std::int64_t i =
            card.input.layout == TensorLayout::kNHWC
                ? ((std::int64_t{index} * H + y) * W + x) * 3 + c
                : ((std::int64_t{index} * 3 + c) * H + y) * W + x;
        if (card.input.dtype == DType::kU8)
          batch.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(v);
        else
          batch.ptr<float>()[i] = (static_cast<float>(v) * card.scale - card.mean[c]) / card.stddev[c];
      }
    }
  }
}

}  // namespace pm::image
