// preprocess_into: resize once (OpenCV, the card's interpolation), then a single pass that
// reorders channels, normalises through a 256-entry table per channel and writes the
// batch tensor in its layout. The table makes float normalisation one load per element
// and is exact (the same float expression as the reference, evaluated once per value).
#include <algorithm>
#include <cmath>
#include <cstring>

#include <opencv2/imgproc.hpp>

#include "pixelmill/error.h"
#include "pixelmill/preprocess.h"
#include "preprocess_geometry.h"

namespace pm {
namespace image {

int cv_interpolation(Interpolation i) {
  switch (i) {
    case Interpolation::kArea: return cv::INTER_AREA;
    case Interpolation::kLinear: return cv::INTER_LINEAR;
    case Interpolation::kCubic: return cv::INTER_CUBIC;
  }
  return cv::INTER_AREA;
}

Placement place(cv::Size src, const ModelCard& card) {
  const int W = card.input.width, H = card.input.height;
  const double sx = static_cast<double>(W) / src.width;
  const double sy = static_cast<double>(H) / src.height;
  Placement p;
  p.source = {0, 0, src.width, src.height};
  switch (card.resize) {
    case ResizePolicy::kSquash:
      p.resized = {W, H};
      p.roi = {0, 0, W, H};
      break;
    case ResizePolicy::kShortSideCrop: {
      const double s = std::max(sx, sy);
      // Along each side: the source pixels kept, centred; all of them unless resizing all
      // would overshoot the input more than kMaxCropOvershoot times (then twice the
      // input's span, so the crop's edges never come near the part that is used).
      const auto keep = [&](int len, int out) {
        if (static_cast<double>(len) * s <= static_cast<double>(kMaxCropOvershoot) * out) return len;
        return std::min(len, static_cast<int>(std::ceil(2.0 * out / s)));
      };
      const int kw = keep(src.width, W), kh = keep(src.height, H);
      p.source = {(src.width - kw) / 2, (src.height - kh) / 2, kw, kh};
      const int rw = std::max(W, static_cast<int>(std::lround(kw * s)));
      const int rh = std::max(H, static_cast<int>(std::lround(kh * s)));
      p.resized = {rw, rh};
      p.roi = {(rw - W) / 2, (rh - H) / 2, W, H};
      break;
    }
    case ResizePolicy::kLetterbox: {
      const double s = std::min(sx, sy);
      const int rw = std::clamp(static_cast<int>(std::lround(src.width * s)), 1, W);
      const int rh = std::clamp(static_cast<int>(std::lround(src.height * s)), 1, H);
      p.resized = {rw, rh};
      p.roi = {0, 0, rw, rh};
      if (card.letterbox_align == LetterboxAlign::kCenter) p.offset = {(W - rw) / 2, (H - rh) / 2};
      p.padded = rw != W || rh != H;
      break;
    }
  }
  return p;
}

}  // namespace image

InputMapping input_mapping(int width, int height, const ModelCard& card) {
  PM_CHECK(width > 0 && height > 0, "input_mapping: empty image");
  const image::Placement p = image::place({width, height}, card);
  InputMapping m;
  m.scale_x = static_cast<double>(p.resized.width) / p.source.width;
  m.scale_y = static_cast<double>(p.resized.height) / p.source.height;
  m.offset_x = p.offset.x - p.roi.x - p.source.x * m.scale_x;
  m.offset_y = p.offset.y - p.roi.y - p.source.y * m.scale_y;
  return m;
}

namespace {

Dims batch_dims(const ModelCard& card, std::int64_t batch) {
  const std::int64_t H = card.input.height, W = card.input.width;
  return card.input.layout == TensorLayout::kNHWC ? Dims{batch, H, W, 3} : Dims{batch, 3, H, W};
}

void check_batch(const ModelCard& card, const Tensor& batch, int index) {
  PM_CHECK(batch.dtype() == card.input.dtype,
           "batch tensor dtype " + dtype_name(batch.dtype()) + " does not match model card " +
               card.name + " (" + dtype_name(card.input.dtype) + ")");
  PM_CHECK(batch.shape().size() == 4 && !batch.empty(),
           "batch tensor must be 4-D, got " + dims_str(batch.shape()));
  PM_CHECK(batch.shape() == batch_dims(card, batch.shape()[0]),
           "batch tensor shape " + dims_str(batch.shape()) + " does not match model card " +
               card.name + " " + dims_str(batch_dims(card, batch.shape()[0])));
  PM_CHECK(index >= 0 && index < batch.shape()[0],
           "batch index " + std::to_string(index) + " out of range " + dims_str(batch.shape()));
}

template <class T>
void write_image(const cv::Mat& img, const image::Placement& p, const ModelCard& card,
                 const T (&table)[3][256], T* out) {
  const int W = card.input.width, H = card.input.height;
  const std::size_t plane = static_cast<std::size_t>(W) * H;
  const bool nhwc = card.input.layout == TensorLayout::kNHWC;
  // Model channel c reads decoded channel src_c[c] (decoded images are RGB).
  const int src_c[3] = {card.input.color == ColorOrder::kRGB ? 0 : 2, 1,
                        card.input.color == ColorOrder::kRGB ? 2 : 0};
  if (p.padded) {
    const auto pad = static_cast<std::uint8_t>(card.pad_value);
    if (nhwc) {
      for (std::size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) out[3 * i + c] = table[c][pad];
    } else {
      for (int c = 0; c < 3; ++c) std::fill(out + c * plane, out + (c + 1) * plane, table[c][pad]);
    }
  }
  for (int y = 0; y < p.roi.height; ++y) {
    const std::uint8_t* s = img.ptr<std::uint8_t>(p.roi.y + y) + 3 * p.roi.x;
    const std::size_t row = static_cast<std::size_t>(p.offset.y + y) * W + p.offset.x;
    if (nhwc) {
      T* d = out + 3 * row;
      for (int x = 0; x < p.roi.width; ++x, s += 3, d += 3) {
        d[0] = table[0][s[src_c[0]]];
        d[1] = table[1][s[src_c[1]]];
        d[2] = table[2][s[src_c[2]]];
      }
    } else {
      T* d0 = out + row;
      T* d1 = d0 + plane;
      T* d2 = d1 + plane;
      for (int x = 0; x < p.roi.width; ++x, s += 3) {
        d0[x] = table[0][s[src_c[0]]];
        d1[x] = table[1][s[src_c[1]]];
        d2[x] = table[2][s[src_c[2]]];
      }
    }
  }
}

}  // namespace

Tensor make_batch_tensor(const ModelCard& card, int batch) {
  PM_CHECK(batch > 0, "batch size must be positive, got " + std::to_string(batch));
  PM_CHECK(card.input.dtype == DType::kU8 || card.input.dtype == DType::kF32,
           "model card " + card.name + ": input dtype must be uint8 or float32");
  return Tensor(card.input.dtype, batch_dims(card, batch));
}

void preprocess_into(const cv::Mat& rgb, const ModelCard& card, Tensor& batch, int index) {
  check_batch(card, batch, index);
  PM_CHECK(!rgb.empty() && rgb.type() == CV_8UC3 && rgb.dims == 2,
           "preprocess_into needs a non-empty CV_8UC3 RGB image");
  const image::Placement p = image::place(rgb.size(), card);
  const cv::Mat source = rgb(p.source);
  cv::Mat resized;
  if (p.resized == source.size())
    resized = source;
  else
    cv::resize(source, resized, p.resized, 0, 0, image::cv_interpolation(card.interpolation));

  const std::size_t per_image = static_cast<std::size_t>(3) * card.input.width * card.input.height;
  if (card.input.dtype == DType::kU8) {
    std::uint8_t table[3][256];
    for (int c = 0; c < 3; ++c)
      for (int v = 0; v < 256; ++v) table[c][v] = static_cast<std::uint8_t>(v);
    write_image(resized, p, card, table, batch.ptr<std::uint8_t>() + per_image * index);
  } else {
    float table[3][256];
    for (int c = 0; c < 3; ++c)
      for (int v = 0; v < 256; ++v)
        table[c][v] = (static_cast<float>(v) * card.scale - card.mean[c]) / card.stddev[c];
    write_image(resized, p, card, table, batch.ptr<float>() + per_image * index);
  }
}

}  // namespace pm
