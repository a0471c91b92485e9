// CenterNet-style head (CenterFace): a sigmoid heatmap per class, log box size and centre
// offset maps, one stride. Every cell at or above the threshold is a candidate; NMS (not a
// 3x3 peak filter) removes the neighbours, as CenterFace's own post-processing does.
#include <cmath>

#include "heads.h"

namespace pm::detect {

void decode_centernet(const HeadInput& in, std::vector<Detection>& out) {
  const int s = in.spec.strides[0];
  const std::int64_t classes = static_cast<std::int64_t>(in.spec.classes.size());
  const std::int64_t gh = in.height / s, gw = in.width / s;
  const float* heat = output_row(in, 0, 4);
  const float* size = output_row(in, 1, 4);
  const float* offset = output_row(in, 2, 4);
  const auto want = [&](std::int64_t c) {
    return "[B, " + std::to_string(c) + ", " + std::to_string(gh) + ", " + std::to_string(gw) + "]";
  };
  if (in.outputs[0].shape() != Dims{in.outputs[0].shape()[0], classes, gh, gw}) shape_error(in, 0, want(classes));
  if (in.outputs[1].shape() != Dims{in.outputs[1].shape()[0], 2, gh, gw}) shape_error(in, 1, want(2));
  if (in.outputs[2].shape() != Dims{in.outputs[2].shape()[0], 2, gh, gw}) shape_error(in, 2, want(2));
  const std::int64_t plane = gh * gw;
  for (std::int64_t c = 0; c < classes; ++c) {
    for (std::int64_t k = 0; k < plane; ++k) {
      const float score = heat[c * plane + k];
      if (!(score >= in.min_score)) continue;
      const float h = std::exp(size[k]) * static_cast<float>(s);
      const float w = std::exp(size[plane + k]) * static_cast<float>(s);
      const float cy = (static_cast<float>(k / gw) + offset[k] + 0.5f) * static_cast<float>(s);
      const float cx = (static_cast<float>(k % gw) + offset[plane + k] + 0.5f) * static_cast<float>(s);
      out.push_back({{cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h}, score, static_cast<int>(c)});
    }
  }
}

}  // namespace pm::detect
