// YOLOX's raw head (decode_in_inference off): per cell dx, dy, log w, log h, objectness,
// class scores; grids of H/s x W/s cells per stride, row-major, level after level.
#include <cmath>

#include "heads.h"

namespace pm::detect {

void decode_yolox(const HeadInput& in, std::vector<Detection>& out) {
  const auto& shape = in.outputs[0].shape();
  const float* p = output_row(in, 0, 3);
  const std::int64_t classes = static_cast<std::int64_t>(in.spec.classes.size());
  std::int64_t cells = 0;
  for (int s : in.spec.strides) cells += static_cast<std::int64_t>(in.height / s) * (in.width / s);
  if (shape[1] != cells || shape[2] != 5 + classes)
    shape_error(in, 0, "[B, " + std::to_string(cells) + ", " + std::to_string(5 + classes) + "]");
  for (int s : in.spec.strides) {
    const int gh = in.height / s, gw = in.width / s;
    for (int gy = 0; gy < gh; ++gy) {
      for (int gx = 0; gx < gw; ++gx, p += 5 + classes) {
        const float obj = p[4];
        if (!(obj >= in.min_score)) continue;  // score = obj * cls <= obj
        const float cx = (p[0] + static_cast<float>(gx)) * static_cast<float>(s);
        const float cy = (p[1] + static_cast<float>(gy)) * static_cast<float>(s);
        const float w = std::exp(p[2]) * static_cast<float>(s);
        const float h = std::exp(p[3]) * static_cast<float>(s);
        for (std::int64_t c = 0; c < classes; ++c) {
          const float score = obj * p[5 + c];
          if (!(score >= in.min_score)) continue;
          out.push_back({{cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h}, score,
                         static_cast<int>(c)});
        }
      }
    }
  }
}

}  // namespace pm::detect
