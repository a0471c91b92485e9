#include <algorithm>
#include <cmath>

#include "pixelmill/detect.h"

namespace pm {

float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  const float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (!(iw > 0 && ih > 0)) return 0.f;
  const double inter = static_cast<double>(iw) * ih;
  const double ua = static_cast<double>(a[2] - a[0]) * (a[3] - a[1]) +
                    static_cast<double>(b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? static_cast<float>(inter / ua) : 0.f;
}

std::vector<Detection> nms(std::vector<Detection> cand, float iou, int max_keep) {
  std::erase_if(cand, [](const Detection& d) {
    for (float v : d.box)
      if (!std::isfinite(v)) return true;
    return !std::isfinite(d.score) || !(d.box[2] > d.box[0] && d.box[3] > d.box[1]);
  });
  std::sort(cand.begin(), cand.end(), [](const Detection& a, const Detection& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.cls != b.cls) return a.cls < b.cls;
    return a.box < b.box;
  });
  std::vector<Detection> kept;
  for (const Detection& d : cand) {
    if (static_cast<int>(kept.size()) >= max_keep) break;
    bool suppressed = false;
    for (const Detection& k : kept) {
      if (k.cls == d.cls && box_iou(k.box, d.box) > iou) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(d);
  }
  return kept;
}

void boxes_to_image(std::vector<Detection>& dets, const InputMapping& map, int width, int height) {
  const auto back = [](float v, double scale, double offset, int limit) {
    return static_cast<float>(std::clamp((v - offset) / scale, 0.0, static_cast<double>(limit)));
  };
  for (Detection& d : dets) {
    d.box = {back(d.box[0], map.scale_x, map.offset_x, width), back(d.box[1], map.scale_y, map.offset_y, height),
             back(d.box[2], map.scale_x, map.offset_x, width), back(d.box[3], map.scale_y, map.offset_y, height)};
  }
  std::erase_if(dets, [](const Detection& d) { return !(d.box[2] > d.box[0] && d.box[3] > d.box[1]); });
}

}  // namespace pm
