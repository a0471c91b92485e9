// Engine-internal ops that exist only after the passes ran (pm.FusedConv is in conv.cc).
//
// pm.NormalizeToNCHW(x, mean, std): the preprocessing exporters put in front of a network
// taking NHWC pixels, Cast -> Sub(mean) -> Div(std) -> Transpose(0,3,1,2), as one pass
// over the image: y[n,c,h,w] = (float(x[n,h,w,c]) - mean[c]) / std[c]. Same float
// operations in the same order, so the result is bit-identical to the unfused chain.
#include "ops/op_util.h"

namespace pm::engine {

namespace {

std::vector<ValueType> infer_normalize(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  PM_OP_CHECK(n, x.size() == 4, "expects an NHWC input");
  PM_OP_CHECK(n, in[0].dtype == DType::kU8 || in[0].dtype == DType::kF32, "expects uint8 or float32 pixels");
  for (int i = 1; i <= 2; ++i) {
    const auto c = dims_product(in[static_cast<std::size_t>(i)].shape);
    PM_OP_CHECK(n, c == 1 || c == x[3], "mean/std must have one value or one per channel");
  }
  return {vt(DType::kF32, {x[0], x[3], x[1], x[2]})};
}

template <class T>
void normalize(const Tensor& x, const Tensor& mean, const Tensor& stdv, Tensor& y) {
  const Dims& s = x.shape();
  const std::int64_t batch = s[0], h = s[1], w = s[2], c = s[3];
  const T* px = x.ptr<T>();
  float* py = y.ptr<float>();
  const bool mean1 = mean.numel() == 1, std1 = stdv.numel() == 1;
  for (std::int64_t ch = 0; ch < c; ++ch) {
    const float m = mean.ptr<float>()[mean1 ? 0 : ch], d = stdv.ptr<float>()[std1 ? 0 : ch];
    for (std::int64_t b = 0; b < batch; ++b) {
      const T* src = px + b * h * w * c + ch;
      float* dst = py + (b * c + ch) * h * w;
      for (std::int64_t i = 0; i < h * w; ++i) dst[i] = (static_cast<float>(src[i * c]) - m) / d;
    }
  }
}

void ref_normalize(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  if (in[0]->dtype() == DType::kU8) normalize<std::uint8_t>(*in[0], *in[1], *in[2], out[0]);
  else normalize<float>(*in[0], *in[1], *in[2], out[0]);
}

}  // namespace

void register_fused_ops(OpTable& t) { t.add({"pm.NormalizeToNCHW", infer_normalize, ref_normalize}); }

}  // namespace pm::engine
