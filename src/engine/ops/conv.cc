// Conv (grouped/depthwise, dilated, padded) reference kernel and the fused form
// pm.FusedConv = activation(conv(x, w) + bias + residual) produced by the fusion pass.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/conv.h"
#include "ops/conv_geometry.h"
#include "ops/op_util.h"

namespace pm::engine {

namespace {

std::vector<ValueType> infer_conv(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() >= 2, "needs X and W");
  const Dims& x = in[0].shape;
  const Dims& w = in[1].shape;
  PM_OP_CHECK(n, in[0].dtype == DType::kF32, "expects float32 input");
  PM_OP_CHECK(n, w.size() == x.size(), "weights rank " + dims_str(w) + " does not match input " + dims_str(x));
  const std::int64_t group = n.attr_i("group", 1);
  PM_OP_CHECK(n, group > 0 && x[1] == w[1] * group,
              "input channels " + std::to_string(x[1]) + " != weight channels " + std::to_string(w[1]) +
                  " x group " + std::to_string(group));
  PM_OP_CHECK(n, w[0] % group == 0, "output channels not divisible by group");
  Window2D g = window_2d(n, x, x.size() == 3 ? 1 : w[2], w.back());
  const auto ks = n.attr_ints("kernel_shape");
  PM_OP_CHECK(n, ks.empty() || Dims(ks) == Dims(w.begin() + 2, w.end()),
              "kernel_shape does not match the weights " + dims_str(w));
  if (in.size() > 2 && n.has_input(2))
    PM_OP_CHECK(n, in[2].dtype == DType::kF32 && dims_product(in[2].shape) == w[0],
                "bias must be float32 with one value per output channel");
  if (x.size() == 3) return {vt(DType::kF32, {x[0], w[0], g.ow})};
  return {vt(DType::kF32, {x[0], w[0], g.oh, g.ow})};
}

void ref_Conv(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  conv_reference(n, *in[0], *in[1], in.size() > 2 ? in[2] : nullptr, out[0]);
}

std::vector<ValueType> infer_fused(const Node& n, const std::vector<ValueType>& in) {
  auto out = infer_conv(n, in);
  if (n.has_input(3)) PM_OP_CHECK(n, in[3].shape == out[0].shape, "residual shape does not match the output");
  return out;
}

void ref_FusedConv(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  conv_reference(n, *in[0], *in[1], in.size() > 2 ? in[2] : nullptr, out[0]);
  add_residual_and_activate(n, in.size() > 3 ? in[3] : nullptr, out[0]);
}

std::vector<ValueType> infer_fused_dw(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() >= 4, "needs X, W, B, W_dw");
  const Node pw = pointwise_stage(n);
  const auto mid = infer_conv(pw, {in[0], in[1], in[2]});
  const Node dw = depthwise_stage(n, mid[0].shape[1]);
  return infer_conv(dw, {mid[0], in[3], in.size() > 4 ? in[4] : ValueType{}});
}

void ref_FusedConvDw(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Node pw = pointwise_stage(n);
  const auto mid_t = infer_conv(pw, {vt(DType::kF32, in[0]->shape()), vt(DType::kF32, in[1]->shape()),
                                     in[2] ? vt(DType::kF32, in[2]->shape()) : ValueType{}});
  Tensor mid(DType::kF32, mid_t[0].shape);
  conv_reference(pw, *in[0], *in[1], in[2], mid);
  apply_activation(fused_activation(n), mid.ptr<float>(), mid.numel());
  const Node dw = depthwise_stage(n, mid.shape()[1]);
  conv_reference(dw, mid, *in[3], in.size() > 4 ? in[4] : nullptr, out[0]);
  apply_activation(fused_dw_activation(n), out[0].ptr<float>(), out[0].numel());
}

}  // namespace

Node pointwise_stage(const Node& fused) {
  Node pw;
  pw.op = "Conv";
  pw.name = fused.name;
  pw.inputs = {fused.inputs[0], fused.inputs[1], fused.inputs.size() > 2 ? fused.inputs[2] : ""};
  for (const auto& [k, v] : fused.attrs)
    if (k.rfind("dw_", 0) != 0 && k.rfind("activation", 0) != 0) pw.attrs[k] = v;
  return pw;
}

Node depthwise_stage(const Node& fused, std::int64_t channels) {
  Node dw;
  dw.op = "Conv";
  dw.name = fused.name + "/dw";
  dw.inputs = {"", fused.inputs[3], fused.inputs.size() > 4 ? fused.inputs[4] : ""};
  auto ints = [](std::vector<std::int64_t> v) {
    Attr a;
    a.kind = Attr::Kind::kInts;
    a.ints = std::move(v);
    return a;
  };
  const std::int64_t s = fused.attr_i("dw_stride", 1);
  dw.attrs["group"].kind = Attr::Kind::kInt;
  dw.attrs["group"].i = channels;
  dw.attrs["kernel_shape"] = ints({3, 3});
  dw.attrs["pads"] = ints({1, 1, 1, 1});
  dw.attrs["strides"] = ints({s, s});
  return dw;
}

namespace {
FusedActivation activation_attrs(const Node& n, const std::string& prefix) {
  FusedActivation a;
  a.kind = n.attr_s(prefix + "activation", "");
  a.alpha = n.attr_f(prefix + "activation_alpha", 0.f);
  a.beta = n.attr_f(prefix + "activation_beta", 0.f);
  return a;
}
}  // namespace

FusedActivation fused_dw_activation(const Node& n) { return activation_attrs(n, "dw_"); }
FusedActivation fused_activation(const Node& n) { return activation_attrs(n, ""); }

void add_residual_and_activate(const Node& n, const Tensor* residual, Tensor& y) {
  float* py = y.ptr<float>();
  const std::int64_t count = y.numel();
  if (residual) {
    const float* r = residual->ptr<float>();
    for (std::int64_t i = 0; i < count; ++i) py[i] += r[i];
  }
  apply_activation(fused_activation(n), py, count);
}

void apply_activation(const FusedActivation& a, float* y, std::int64_t count) {
  if (a.kind.empty()) return;
  if (a.kind == "Relu") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] > 0.f ? y[i] : 0.f;
  } else if (a.kind == "Clip") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(y[i], a.alpha), a.beta);
  } else if (a.kind == "LeakyRelu") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] >= 0.f ? y[i] : a.alpha * y[i];
  } else if (a.kind == "Sigmoid") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
  } else if (a.kind == "HardSwish") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] * std::clamp(y[i] / 6.f + 0.5f, 0.f, 1.f);
  } else if (a.kind == "Tanh") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = std::tanh(y[i]);
  } else if (a.kind == "Swish") {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] / (1.f + std::exp(-a.alpha * y[i]));
  } else {
    throw Error("internal: unknown fused activation '" + a.kind + "'");
  }
}

void conv_reference(const Node& n, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  const Dims& xs = x.shape();
  const Dims& ws = w.shape();
  const std::int64_t group = n.attr_i("group", 1);
  Window2D g = window_2d(n, xs, xs.size() == 3 ? 1 : ws[2], ws.back());
  const std::int64_t batch = xs[0], ic = xs[1], oc = ws[0];
  const std::int64_t icg = ic / group, ocg = oc / group;
  const float* px = x.ptr<float>();
  const float* pw = w.ptr<float>();
  const float* pb = bias ? bias->ptr<float>() : nullptr;
  float* py = y.ptr<float>();
  const std::int64_t in_plane = g.ih * g.iw, out_plane = g.oh * g.ow, kplane = g.kh * g.kw;
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t o = 0; o < oc; ++o) {
      const std::int64_t grp = o / ocg;
      float* yo = py + (b * oc + o) * out_plane;
      const float bv = pb ? pb[o] : 0.f;
      for (std::int64_t i = 0; i < out_plane; ++i) yo[i] = bv;
      for (std::int64_t c = 0; c < icg; ++c) {
        const float* xc = px + (b * ic + grp * icg + c) * in_plane;
        const float* wc = pw + (o * icg + c) * kplane;
        for (std::int64_t ky = 0; ky < g.kh; ++ky) {
          for (std::int64_t kx = 0; kx < g.kw; ++kx) {
            const float wv = wc[ky * g.kw + kx];
            for (std::int64_t oy = 0; oy < g.oh; ++oy) {
              const std::int64_t iy = oy * g.sh - g.pt + ky * g.dh;
              if (iy < 0 || iy >= g.ih) continue;
              const float* xrow = xc + iy * g.iw;
              float* yrow = yo + oy * g.ow;
              for (std::int64_t ox = 0; ox < g.ow; ++ox) {
                const std::int64_t ix = ox * g.sw - g.pl + kx * g.dw;
                if (ix >= 0 && ix < g.iw) yrow[ox] += wv * xrow[ix];
              }
            }
          }
        }
      }
    }
  }
}

void register_conv_ops(OpTable& t) {
  t.add({"Conv", infer_conv, ref_Conv});
  t.add({"pm.FusedConv", infer_fused, ref_FusedConv});
  t.add({"pm.FusedConvDw", infer_fused_dw, ref_FusedConvDw});
}

}  // namespace pm::engine
