// Generalised-focal-loss head (PP-PicoDet, NanoDet): per level sigmoid class scores and, per
// box side, a distribution over reg_max + 1 distances of one stride each.
#include <algorithm>
#include <cmath>

#include "heads.h"

namespace pm::detect {

namespace {

// Softmax expectation of bins[0..n): sum_i i * e^(b_i - max) / sum_i e^(b_i - max).
float expected_bin(const float* bins, int n) {
  const float m = *std::max_element(bins, bins + n);
  double num = 0, den = 0;
  for (int i = 0; i < n; ++i) {
    const double e = std::exp(static_cast<double>(bins[i]) - m);
    num += i * e;
    den += e;
  }
  return static_cast<float>(num / den);
}

}  // namespace

void decode_gfl(const HeadInput& in, std::vector<Detection>& out) {
  const std::size_t levels = in.spec.strides.size();
  const std::int64_t classes = static_cast<std::int64_t>(in.spec.classes.size());
  const int bins = in.spec.reg_max + 1;
  for (std::size_t l = 0; l < levels; ++l) {
    const int s = in.spec.strides[l];
    const int gh = (in.height + s - 1) / s, gw = (in.width + s - 1) / s;
    const std::int64_t cells = static_cast<std::int64_t>(gh) * gw;
    const float* score = output_row(in, l, 3);
    const float* dist = output_row(in, levels + l, 3);
    if (in.outputs[l].shape()[1] != cells || in.outputs[l].shape()[2] != classes)
      shape_error(in, l, "[B, " + std::to_string(cells) + ", " + std::to_string(classes) + "]");
    if (in.outputs[levels + l].shape()[1] != cells || in.outputs[levels + l].shape()[2] != 4 * bins)
      shape_error(in, levels + l, "[B, " + std::to_string(cells) + ", " + std::to_string(4 * bins) + "]");
    for (std::int64_t k = 0; k < cells; ++k, score += classes, dist += 4 * bins) {
      const float best = *std::max_element(score, score + classes);
      if (!(best >= in.min_score)) continue;
      const float cx = (static_cast<float>(k % gw) + 0.5f) * static_cast<float>(s);
      const float cy = (static_cast<float>(k / gw) + 0.5f) * static_cast<float>(s);
      float d[4];
      for (int side = 0; side < 4; ++side) d[side] = expected_bin(dist + side * bins, bins) * static_cast<float>(s);
      for (std::int64_t c = 0; c < classes; ++c) {
        if (!(score[c] >= in.min_score)) continue;
        out.push_back({{cx - d[0], cy - d[1], cx + d[2], cy + d[3]}, score[c], static_cast<int>(c)});
      }
    }
  }
}

}  // namespace pm::detect
