// Private to pm_image: where a resized image lands in the network input, per resize policy.
#pragma once

#include <opencv2/core/types.hpp>

#include "pixelmill/model_card.h"

namespace pm::image {

struct Placement {
  cv::Rect source;   // part of the decoded image that is resized (all of it, but see place())
  cv::Size resized;  // size to resize that part to
  cv::Rect roi;      // part of the resized image that is used (centre crop)
  cv::Point offset;  // where roi's top-left goes in the HxW input (letterbox)
  bool padded = false;  // some input pixels are pad_value (letterbox)
};

// For an image of `src` size and the card's input size. Sizes are rounded to nearest and
// kept at least 1 pixel; a crop never exceeds the resized image. A centre crop of an image
// far longer than the input's aspect (short_side_crop of a 1x60000 strip) first cuts the
// source to the centre part that the crop keeps, with a margin, so that the resized
// intermediate stays within kMaxCropOvershoot times the input along that side instead of
// growing with the aspect ratio (64x3,840,000 pixels for that strip).
inline constexpr int kMaxCropOvershoot = 4;
Placement place(cv::Size src, const ModelCard& card);

int cv_interpolation(Interpolation i);

}  // namespace pm::image
