// Preprocessing: one decoded RGB image -> one slot of the network's batch tensor, as the
// model card says (resize policy and interpolation, colour order, scale/mean/std, dtype
// and layout). Writes straight into the batch; the only temporary is the resized image.
// Thread-safe for distinct `index` values of the same batch.
#pragma once

#include <opencv2/core/mat.hpp>

#include "pixelmill/model_card.h"
#include "pixelmill/tensor.h"

namespace pm {

// A zero-filled batch tensor shaped for the card: [batch,H,W,3] (NHWC) or [batch,3,H,W]
// (NCHW), dtype uint8 or float32.
Tensor make_batch_tensor(const ModelCard& card, int batch);

// Writes image `index` of `batch`. `rgb` is CV_8UC3 in RGB order (decode_image output).
// Throws pm::Error when the tensor does not match the card or index is out of range
// (a programming error, not a per-record failure).
void preprocess_into(const cv::Mat& rgb, const ModelCard& card, Tensor& batch, int index);

// Where a pixel of a decoded image lands in the network input, for the card's resize
// policy: input = image * scale + offset, per axis. A detector's boxes go back to the
// image by the inverse. The same geometry as preprocess_into.
struct InputMapping {
  double scale_x = 1, scale_y = 1, offset_x = 0, offset_y = 0;
};
InputMapping input_mapping(int width, int height, const ModelCard& card);

}  // namespace pm
