// A detector's raw head output -> boxes on the decoded image: the head decoders of
// detector_spec.h, class-aware non-maximum suppression, and the map from network-input
// pixels back to the image (the inverse of preprocessing). Plain C++, no engine, no MPI:
// the same code serves `extract --detector`, `model detect` and the tests.
#pragma once

#include <array>
#include <vector>

#include "pixelmill/detector_spec.h"
#include "pixelmill/preprocess.h"
#include "pixelmill/tensor.h"

namespace pm {

struct Detection {
  std::array<float, 4> box{};  // x0, y0, x1, y1 (x1 > x0, y1 > y0)
  float score = 0.f;
  int cls = 0;  // index into DetectorSpec::classes
};

// Candidates of batch row `row` with score >= min_score, in network-input pixels (an input
// of in_width x in_height), one per cell and class. `outputs` are the graph outputs named
// by spec.outputs, in that order. Throws pm::Error when an output's shape does not fit
// the head, the strides and the input size (a card that does not match its model).
std::vector<Detection> decode_head(const DetectorSpec& spec, const std::vector<Tensor>& outputs,
                                   std::int64_t row, int in_width, int in_height, float min_score);

// Greedy non-maximum suppression per class: candidates by descending score (ties: lower
// class, then lower x0, y0, x1, y1), a box is dropped when its IoU with a kept box of its
// class exceeds `iou`; at most max_keep kept, in that order. Candidates with a NaN
// coordinate or score, or no area, are dropped first.
std::vector<Detection> nms(std::vector<Detection> candidates, float iou, int max_keep);

float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b);

// Boxes from network-input pixels to pixels of an image of width x height that was
// preprocessed with `map`, clipped to it; boxes left without area are dropped.
void boxes_to_image(std::vector<Detection>& dets, const InputMapping& map, int width, int height);

}  // namespace pm
