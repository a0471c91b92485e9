// BatchNormalization (inference), Softmax/LogSoftmax, LayerNormalization.
#include <algorithm>
#include <cmath>

#include "ops/op_util.h"

namespace pm::engine {

namespace {

std::vector<ValueType> infer_first(const Node& n, const std::vector<ValueType>& in) {
  return {vt(in[0].dtype, in[0].shape)};
}

void ref_BatchNormalization(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& s = in[0]->shape();
  PM_OP_CHECK(n, s.size() >= 2, "expects N x C x ...");
  PM_OP_CHECK(n, n.attr_i("training_mode", 0) == 0, "training mode is not supported");
  const float eps = n.attr_f("epsilon", 1e-5f);
  const std::int64_t c = s[1], inner = in[0]->numel() / std::max<std::int64_t>(s[0] * c, 1);
  const float *x = in[0]->ptr<float>(), *scale = in[1]->ptr<float>(), *bias = in[2]->ptr<float>(),
              *mean = in[3]->ptr<float>(), *var = in[4]->ptr<float>();
  float* y = out[0].ptr<float>();
  for (std::int64_t b = 0; b < s[0]; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const float k = scale[ch] / std::sqrt(var[ch] + eps);
      const float off = bias[ch] - mean[ch] * k;
      const std::int64_t base = (b * c + ch) * inner;
      for (std::int64_t i = 0; i < inner; ++i) y[base + i] = x[base + i] * k + off;
    }
}

template <bool Log>
void ref_softmax(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& s = in[0]->shape();
  // Opset >= 13: softmax along one axis (default -1). Opset < 13: over the flattened
  // dims from `axis` (default 1) — the loader records the opset in the node.
  const bool legacy = n.attr_i("pm_opset", 13) < 13;
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", legacy ? 1 : -1), s.size()));
  std::int64_t outer = 1, len = 1, inner = 1;
  for (std::size_t d = 0; d < s.size(); ++d) {
    if (d < axis) outer *= s[d];
    else if (d == axis || legacy) len *= s[d];
    else inner *= s[d];
  }
  const float* x = in[0]->ptr<float>();
  float* y = out[0].ptr<float>();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) {
      const std::int64_t base = o * len * inner + i;
      float mx = -INFINITY;
      for (std::int64_t j = 0; j < len; ++j) mx = std::max(mx, x[base + j * inner]);
      double sum = 0;
      for (std::int64_t j = 0; j < len; ++j) sum += std::exp(double(x[base + j * inner] - mx));
      for (std::int64_t j = 0; j < len; ++j) {
        const double v = double(x[base + j * inner] - mx);
        y[base + j * inner] = float(Log ? v - std::log(sum) : std::exp(v) / sum);
      }
    }
}

std::vector<ValueType> infer_layernorm(const Node& n, const std::vector<ValueType>& in) {
  std::vector<ValueType> out{vt(in[0].dtype, in[0].shape)};
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", -1), in[0].shape.size()));
  Dims stat = in[0].shape;
  for (std::size_t d = axis; d < stat.size(); ++d) stat[d] = 1;
  for (std::size_t i = 1; i < n.outputs.size(); ++i) out.push_back(vt(DType::kF32, stat));
  return out;
}

void ref_LayerNormalization(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& s = in[0]->shape();
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", -1), s.size()));
  const float eps = n.attr_f("epsilon", 1e-5f);
  std::int64_t outer = 1, len = 1;
  for (std::size_t d = 0; d < s.size(); ++d) (d < axis ? outer : len) *= s[d];
  const Dims norm_shape(s.begin() + static_cast<std::ptrdiff_t>(axis), s.end());
  const Tensor* scale = in[1];
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  auto ss = broadcast_strides(scale->shape(), norm_shape);
  std::vector<std::int64_t> bs;
  if (bias) bs = broadcast_strides(bias->shape(), norm_shape);
  auto nst = strides_of(norm_shape);
  // Map a flat index within the normalised block to a broadcast offset.
  auto offset = [&](const std::vector<std::int64_t>& st, std::int64_t j) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < norm_shape.size(); ++d) off += ((j / nst[d]) % norm_shape[d]) * st[d];
    return off;
  };
  const float* x = in[0]->ptr<float>();
  float* y = out[0].ptr<float>();
  for (std::int64_t o = 0; o < outer; ++o) {
    const float* xo = x + o * len;
    double mean = 0, var = 0;
    for (std::int64_t j = 0; j < len; ++j) mean += xo[j];
    mean /= double(len);
    for (std::int64_t j = 0; j < len; ++j) var += (xo[j] - mean) * (xo[j] - mean);
    var /= double(len);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (std::int64_t j = 0; j < len; ++j) {
      double v = (xo[j] - mean) * inv * scale->ptr<float>()[offset(ss, j)];
      if (bias) v += bias->ptr<float>()[offset(bs, j)];
      y[o * len + j] = float(v);
    }
    if (out.size() > 1 && !out[1].empty()) out[1].ptr<float>()[o] = float(mean);
    if (out.size() > 2 && !out[2].empty()) out[2].ptr<float>()[o] = float(inv);
  }
}

}  // namespace

void register_norm_ops(OpTable& t) {
  t.add({"BatchNormalization", infer_first, ref_BatchNormalization});
  t.add({"Softmax", infer_first, ref_softmax<false>});
  t.add({"LogSoftmax", infer_first, ref_softmax<true>});
  t.add({"LayerNormalization", infer_layernorm, ref_LayerNormalization});
}

}  // namespace pm::engine
