// What a detector's model card says about its output (the card's "detector" section), so
// that the C++ decoder reads the raw head the way the network was trained to be read.
//
//   "detector": {
//     "head": "yolox" | "gfl" | "centernet",
//     "outputs": [graph output names, in the order the head reads them (below)],
//     "strides": [input pixels per output cell, one per level],
//     "classes": [class names; a class id indexes this list],
//     "reg_max": 7                (gfl only: a side's distance is a distribution over
//                                  reg_max + 1 bins of one stride each),
//     "score_threshold": 0.3,     (defaults for --min-score, --nms-iou, --max-detections)
//     "nms_iou": 0.45,
//     "max_detections": 100
//   }
//
// Heads (all decode to boxes in network-input pixels, one candidate per cell and class
// whose score reaches the threshold; class-aware NMS follows):
//   yolox      one output [B, N, 5 + C]: per cell (dx, dy, log w, log h, objectness, class
//              scores), objectness and class scores already sigmoid; cells are the levels'
//              grids (H/s x W/s each), row-major, level after level. Centre = (g + d) * s,
//              size = exp(log) * s, score = objectness * class score.
//   gfl        per level a score output [B, N_l, C] (sigmoid), then per level a
//              distribution output [B, N_l, 4 (reg_max + 1)] (logits): outputs lists the
//              score outputs of every level, then the distribution outputs. Grids are
//              ceil(H/s) x ceil(W/s); centre = (g + 0.5) * s; each side's distance (left,
//              top, right, bottom) is the softmax expectation over the bins, times s.
//   centernet  outputs heatmap [B, C, h, w] (sigmoid), size [B, 2, h, w] (log height, log
//              width, in strides), offset [B, 2, h, w] (y, x, in cells); one stride.
//              Centre = (g + offset + 0.5) * s, size = exp(log) * s. Further outputs
//              (landmarks) are not read.
// A YOLOv5/v8 or SSD-prior head is another value of `head` and one more decoder file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

enum class DetectorHead : std::uint8_t { kYolox, kGfl, kCenterNet };

struct DetectorSpec {
  DetectorHead head = DetectorHead::kYolox;
  std::vector<std::string> outputs;
  std::vector<int> strides;
  std::vector<std::string> classes;
  int reg_max = 7;
  float score_threshold = 0.3f;
  float nms_iou = 0.45f;
  int max_detections = 100;
};

std::string_view detector_head_name(DetectorHead h);

}  // namespace pm
