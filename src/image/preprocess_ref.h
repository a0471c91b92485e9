// Private to pm_image and its tests: the reference twin of preprocess_into. One element at
// a time, index arithmetic written out, normalisation formula evaluated per element (no
// lookup table, no row copies). Same resize (cv::resize) and geometry as the fast path.
#pragma once

#include <opencv2/core/mat.hpp>

#include "pixelmill/model_card.h"
#include "pixelmill/tensor.h"

namespace pm::image {

void preprocess_reference_into(const cv::Mat& rgb, const ModelCard& card, Tensor& batch,
                               int index);

}  // namespace pm::image
