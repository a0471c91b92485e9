// Geometry of 2-D convolution and pooling windows: kernel, strides, dilations, pads after
// auto_pad resolution, output size. Shared by the reference kernels and the oneDNN path.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace pm::engine {

struct Window2D {
  std::int64_t kh = 1, kw = 1;
  std::int64_t sh = 1, sw = 1;
  std::int64_t dh = 1, dw = 1;          // ONNX dilation (1 = dense)
  std::int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // top, left, bottom, right
  std::int64_t ih = 0, iw = 0, oh = 0, ow = 0;
};

// `kernel` is {kh, kw} (from the weights for Conv, the kernel_shape attribute for pooling).
// Inputs of rank 3 (1-D ops) are treated as height 1. `ceil_mode` applies to pooling.
Window2D window_2d(const Node& n, const Dims& x_shape, std::int64_t kh, std::int64_t kw,
                   bool ceil_mode = false);

// ConvTranspose (weights [C_in, C_out/group, k...]): ONNX's output_padding, output_shape and
// auto_pad resolved into pads; out = s (in - 1) + output_padding + (k - 1) d + 1 - pads.
// The output_padding is in (oh, ow) and not in the pads. Rank-3 inputs have height 1.
struct TGeom {
  std::int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, ih, iw, oh, ow;
};
TGeom tgeom(const Node& n, const Dims& x, const Dims& w);

}  // namespace pm::engine
