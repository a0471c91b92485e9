// MaxPool and AveragePool (2-D and 1-D; pads, strides, dilations, ceil_mode,
// count_include_pad).
#include <algorithm>
#include <cmath>

#include "ops/conv_geometry.h"
#include "ops/op_util.h"

namespace pm::engine {

namespace {

Window2D pool_window(const Node& n, const Dims& x) {
  auto k = n.attr_ints("kernel_shape");
  PM_OP_CHECK(n, !k.empty(), "kernel_shape is required");
  PM_OP_CHECK(n, k.size() + 2 == x.size(), "kernel_shape rank does not match the input");
  return window_2d(n, x, k.size() == 1 ? 1 : k[0], k.back(), n.attr_i("ceil_mode", 0) != 0);
}

std::vector<ValueType> infer_pool(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  Window2D w = pool_window(n, x);
  std::vector<ValueType> out;
  if (x.size() == 3) out.push_back(vt(in[0].dtype, {x[0], x[1], w.ow}));
  else out.push_back(vt(in[0].dtype, {x[0], x[1], w.oh, w.ow}));
  PM_OP_CHECK(n, n.outputs.size() < 2 || n.outputs[1].empty(), "MaxPool indices output is not supported");
  return out;
}

template <bool Max>
void ref_pool(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& x = in[0]->shape();
  Window2D w = pool_window(n, x);
  const bool include_pad = n.attr_i("count_include_pad", 0) != 0;
  const std::int64_t planes = x[0] * x[1];
  const float* px = in[0]->ptr<float>();
  float* py = out[0].ptr<float>();
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* xp = px + p * w.ih * w.iw;
    float* yp = py + p * w.oh * w.ow;
    for (std::int64_t oy = 0; oy < w.oh; ++oy)
      for (std::int64_t ox = 0; ox < w.ow; ++ox) {
        double acc = Max ? -INFINITY : 0.0;
        std::int64_t count = 0, padded = 0;
        for (std::int64_t ky = 0; ky < w.kh; ++ky)
          for (std::int64_t kx = 0; kx < w.kw; ++kx) {
            const std::int64_t iy = oy * w.sh - w.pt + ky * w.dh, ix = ox * w.sw - w.pl + kx * w.dw;
            // Positions in the explicit padding count for count_include_pad; positions
            // past it (ceil_mode overhang) never do.
            if (iy < w.ih + w.pb && ix < w.iw + w.pr) ++padded;
            if (iy < 0 || iy >= w.ih || ix < 0 || ix >= w.iw) continue;
            const double v = xp[iy * w.iw + ix];
            acc = Max ? std::max(acc, v) : acc + v;
            ++count;
          }
        if (!Max) acc /= double(std::max<std::int64_t>(include_pad ? padded : count, 1));
        yp[oy * w.ow + ox] = float(acc);
      }
  }
}

}  // namespace

void register_pool_ops(OpTable& t) {
  t.add({"MaxPool", infer_pool, ref_pool<true>});
  t.add({"AveragePool", infer_pool, ref_pool<false>});
}

}  // namespace pm::engine
