// ConvTranspose (2-D and 1-D; groups, strides, dilations, pads, output_padding,
// output_shape, auto_pad) reference kernel.
#include <algorithm>

#include "ops/conv_geometry.h"
#include "ops/op_util.h"

namespace pm::engine {

TGeom tgeom(const Node& n, const Dims& x, const Dims& w) {
  PM_OP_CHECK(n, x.size() == 4 || x.size() == 3, "only 1-D and 2-D ConvTranspose are supported");
  const bool one_d = x.size() == 3;
  auto pick = [&](const char* key, std::int64_t def) {
    auto v = n.attr_ints(key);
    if (v.empty()) v.assign(one_d ? 1 : 2, def);
    PM_OP_CHECK(n, v.size() == (one_d ? 1u : 2u), std::string(key) + " has the wrong length");
    if (one_d) v.insert(v.begin(), def);
    return v;
  };
  TGeom g{};
  g.ih = one_d ? 1 : x[2];
  g.iw = x.back();
  g.kh = one_d ? 1 : w[2];
  g.kw = w.back();
  auto s = pick("strides", 1), d = pick("dilations", 1), op = pick("output_padding", 0);
  g.sh = s[0]; g.sw = s[1]; g.dh = d[0]; g.dw = d[1];
  const std::int64_t ekh = (g.kh - 1) * g.dh + 1, ekw = (g.kw - 1) * g.dw + 1;
  const std::int64_t full_h = g.sh * (g.ih - 1) + op[0] + ekh, full_w = g.sw * (g.iw - 1) + op[1] + ekw;
  auto out_shape = n.attr_ints("output_shape");
  const std::string auto_pad = n.attr_s("auto_pad", "NOTSET");
  if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    std::int64_t th, tw;
    if (!out_shape.empty()) {
      th = one_d ? 1 : out_shape[out_shape.size() - 2];
      tw = out_shape.back();
    } else {
      th = g.ih * g.sh;
      tw = g.iw * g.sw;
    }
    // Negative when output_shape is larger than the full result: the extra rows are
    // zeros at the end (as ONNX Runtime and the ONNX test data have it).
    const std::int64_t tot_h = full_h - th, tot_w = full_w - tw;
    const bool lower = auto_pad == "SAME_LOWER";
    g.pt = lower ? tot_h - tot_h / 2 : tot_h / 2;
    g.pb = tot_h - g.pt;
    g.pl = lower ? tot_w - tot_w / 2 : tot_w / 2;
    g.pr = tot_w - g.pl;
  } else if (auto_pad != "VALID") {
    auto p = n.attr_ints("pads");
    if (!p.empty()) {
      if (one_d) {
        g.pl = p[0];
        g.pr = p[1];
      } else {
        g.pt = p[0]; g.pl = p[1]; g.pb = p[2]; g.pr = p[3];
      }
    }
  }
  g.oh = full_h - g.pt - g.pb;
  g.ow = full_w - g.pl - g.pr;
  PM_OP_CHECK(n, g.oh > 0 && g.ow > 0, "empty output");
  return g;
}

namespace {

std::vector<ValueType> infer_convt(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  const Dims& w = in[1].shape;
  const std::int64_t group = n.attr_i("group", 1);
  PM_OP_CHECK(n, w.size() == x.size() && w[0] == x[1], "weights do not match the input channels");
  TGeom g = tgeom(n, x, w);
  const std::int64_t oc = w[1] * group;
  if (x.size() == 3) return {vt(DType::kF32, {x[0], oc, g.ow})};
  return {vt(DType::kF32, {x[0], oc, g.oh, g.ow})};
}

void ref_ConvTranspose(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& x = in[0]->shape();
  const Dims& w = in[1]->shape();
  TGeom g = tgeom(n, x, w);
  const std::int64_t group = n.attr_i("group", 1);
  const std::int64_t batch = x[0], ic = x[1], icg = ic / group, ocg = w[1], oc = ocg * group;
  const float* px = in[0]->ptr<float>();
  const float* pw = in[1]->ptr<float>();
  const float* pb = in.size() > 2 && in[2] ? in[2]->ptr<float>() : nullptr;
  float* py = out[0].ptr<float>();
  const std::int64_t oplane = g.oh * g.ow;
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t o = 0; o < oc; ++o)
      for (std::int64_t i = 0; i < oplane; ++i) py[(b * oc + o) * oplane + i] = pb ? pb[o] : 0.f;
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t c = 0; c < ic; ++c) {
      const std::int64_t grp = c / icg;
      const float* xc = px + (b * ic + c) * g.ih * g.iw;
      for (std::int64_t oo = 0; oo < ocg; ++oo) {
        const std::int64_t o = grp * ocg + oo;
        const float* wk = pw + (c * ocg + oo) * g.kh * g.kw;
        float* yo = py + (b * oc + o) * oplane;
        for (std::int64_t iy = 0; iy < g.ih; ++iy)
          for (std::int64_t ix = 0; ix < g.iw; ++ix) {
            const float v = xc[iy * g.iw + ix];
            for (std::int64_t ky = 0; ky < g.kh; ++ky) {
              const std::int64_t oy = iy * g.sh + ky * g.dh - g.pt;
              if (oy < 0 || oy >= g.oh) continue;
              for (std::int64_t kx = 0; kx < g.kw; ++kx) {
                const std::int64_t ox = ix * g.sw + kx * g.dw - g.pl;
                if (ox >= 0 && ox < g.ow) yo[oy * g.ow + ox] += v * wk[ky * g.kw + kx];
              }
            }
          }
      }
    }
}

}  // namespace

void register_conv_transpose_ops(OpTable& t) { t.add({"ConvTranspose", infer_convt, ref_ConvTranspose}); }

}  // namespace pm::engine
