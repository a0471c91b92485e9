// Private to pm_image: where a resized image lands in the network input, per resize policy.
#pragma once

#include <opencv2/core/types.hpp>

#include "pixelmill/model_card.h"

namespace pm::image {

struct Placement {
  cv::Size resized;  // size to resize the decoded image to
  cv::Rect roi;      // part of the resized image that is used (centre crop)
  cv::Point offset;  // where roi's top-left goes in the HxW input (letterbox)
  bool padded = false;  // some input pixels are pad_value (letterbox)
};

// For an image of `src` size and the card's input size. Sizes are rounded to nearest and
// kept at least 1 pixel; a crop never exceeds the resized image.
Placement place(cv::Size src, const ModelCard& card);

int cv_interpolation(Interpolation i);

}  // namespace pm::image
