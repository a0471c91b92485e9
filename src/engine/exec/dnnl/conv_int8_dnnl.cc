// pm.QConv on oneDNN: the activation is quantised by a reorder (float32 -> uint8/int8 in the
// convolution's source layout, scale 1/x_scale, zero point x_zero_point), then an int8
// convolution with int32 sums writes float32: output scale x_scale * w_scale[o] per output
// channel, the source zero point given to oneDNN, the float32 bias (divided by the output
// scale: oneDNN adds it to the sum before scaling).
// A fused residual (input 4) is oneDNN's sum post-op and a fused activation its eltwise
// post-op, both applied to the scaled float32 result. Weights are reordered once, when the
// kernel is built.
// With x_quantized (passes/quantize_between_qconvs.cc) x is already uint8/int8 in the
// convolution's source layout and there is no reorder; with y_scale the convolution writes
// q(y) into uint8/int8 (oneDNN saturates and rounds to nearest even), one of two ways:
// - folded: 1/y_scale joins the output scales, y_zero_point is oneDNN's destination zero
//   point, and the activation is scaled with them (Relu as it is, Clip's bounds / y_scale)
//   or dropped where saturation does its work already (Relu, or Clip(0, b) with b / y_scale
//   >= 255, when y_zero_point is 0 and y is uint8: ReLU6 into [0, 6] quantised to uint8,
//   MobileNet's case). No eltwise post-op then; the epilogue dominates convolutions with
//   few input channels. Only for activations that commute with a positive scale, and only
//   where oneDNN's kernel for it is not its reference one.
// - otherwise, after the activation an eltwise linear post-op y / y_scale + y_zero_point,
//   the arithmetic of the quantising reorder the readers would have run.
// Either way the value differs from the reference's q(y) only by float rounding (one step
// where y / y_scale sits at a rounding boundary).
#include <cmath>
#include <optional>

#include "exec/dnnl/dnnl_common.h"
#include "exec/dnnl/dnnl_kernels.h"
#include "exec/dnnl/int8_kernel.h"
#include "ops/conv.h"
#include "ops/conv_geometry.h"

namespace pm::engine {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

}  // namespace

std::unique_ptr<DnnlKernel> make_dnnl_qconv(const Node& n, const std::vector<ValueType>& in,
                                            const std::vector<ValueType>& out, std::string& why) {
  const Dims& xs = in[0].shape;
  const Dims& ws = in[1].shape;
  if (xs.size() != 4 || ws.size() != 4) {
    why = "only 2-D int8 convolutions go to oneDNN";
    return nullptr;
  }
  if (!in[1].value || !in[2].value || (n.has_input(3) && !in[3].value)) {
    why = "weights, weight scales or bias are not constant";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const std::int64_t group = n.attr_i("group", 1);
    const Window2D w = window_2d(n, xs, ws[2], ws[3]);
    const float sx = n.attr_f("x_scale", 1.f);
    const auto zx = static_cast<std::int32_t>(n.attr_i("x_zero_point", 0));
    const dt src_dt = n.attr_i("x_signed", 0) ? dt::s8 : dt::u8;
    const dnnl::memory::dims src_dims{xs[0], xs[1], xs[2], xs[3]};
    const dnnl::memory::dims dst_dims{out[0].shape[0], out[0].shape[1], out[0].shape[2], out[0].shape[3]};
    dnnl::memory::dims w_dims;
    tag w_tag;
    if (group == 1) {
      w_dims = {ws[0], ws[1], ws[2], ws[3]};
      w_tag = tag::oihw;
    } else {
      w_dims = {group, ws[0] / group, ws[1], ws[2], ws[3]};
      w_tag = tag::goihw;
    }
    dnnl::memory::desc src_md(src_dims, src_dt, tag::any);
    dnnl::memory::desc w_md(w_dims, dt::s8, tag::any);
    dnnl::memory::desc b_md({ws[0]}, dt::f32, tag::x);
    const bool x_quantized = n.attr_i("x_quantized", 0) != 0;
    const bool y_quantised = n.has_attr("y_scale");
    const float sy = n.attr_f("y_scale", 1.f);
    const dt dst_dt = !y_quantised ? dt::f32 : n.attr_i("y_signed", 0) ? dt::s8 : dt::u8;
    dnnl::memory::desc dst_md(dst_dims, dst_dt, tag::any);
    std::vector<float> scales(static_cast<std::size_t>(ws[0]));
    const float* sw = in[2].value->ptr<float>();
    for (std::size_t o = 0; o < scales.size(); ++o) scales[o] = sx * sw[o];
    // Scales that are zero, denormal or overflow would give inf/NaN where the reference
    // gives numbers (bias / scale, 1 / x_scale): such a node runs on its reference kernel.
    const float* bias_v = n.has_input(3) ? in[3].value->ptr<float>() : nullptr;
    bool finite = std::isnormal(sx) && std::isfinite(1.f / sx) && (!y_quantised || (std::isnormal(sy) && std::isfinite(1.f / sy)));
    for (std::size_t o = 0; o < scales.size() && finite; ++o)
      finite = std::isnormal(scales[o]) && (!bias_v || std::isfinite(bias_v[o] / scales[o]));
    if (!finite) {
      why = "a scale is zero, denormal or too small for its bias";
      return nullptr;
    }
    const bool has_sum = n.has_input(4);
    const FusedActivation act = fused_activation(n);
    dnnl::algorithm alg{};
    if (!act.kind.empty() && !dnnl_eltwise_for(act.kind, alg)) {
      why = "activation " + act.kind + " has no oneDNN post-op";
      return nullptr;
    }
    const auto zy = static_cast<std::int32_t>(n.attr_i("y_zero_point", 0));
    const bool y_u8 = dst_dt == dt::u8;
    // Activations that commute with a positive scale: act(v) / s = act'(v / s).
    const bool scalable = act.kind.empty() || act.kind == "Relu" || act.kind == "Clip" || act.kind == "LeakyRelu";
    // Saturation into uint8 with zero point 0 clips at 0 and at 255 steps already.
    const bool act_redundant =
        y_u8 && zy == 0 &&
        (act.kind == "Relu" || (act.kind == "Clip" && act.alpha == 0.f && act.beta / sy >= 255.f));
    const bool has_bias = n.has_input(3);
    const dnnl::memory::dims strides{w.sh, w.sw}, dil{w.dh - 1, w.dw - 1}, pl{w.pt, w.pl}, pr{w.pb, w.pr};
    auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src_md, w_md,
                                                           b_md, dst_md, strides, dil, pl, pr)
                         : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src_md, w_md,
                                                           dst_md, strides, dil, pl, pr);
    auto make_pd = [&](bool fold) {
      dnnl::primitive_attr attr;
      // Per output channel: dimension 1 of dst ("o" in oihw; with groups oneDNN also counts
      // the output channel over all groups as dst dimension 1).
      std::vector<float> out_scales = scales;
      if (fold)
        for (auto& v : out_scales) v /= sy;
      attr.set_output_scales(1 << 1, out_scales);
      if (zx != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {zx});
      if (fold && zy != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {zy});
      dnnl::post_ops po;
      if (has_sum) po.append_sum(1.f);
      const float k = fold ? 1.f / sy : 1.f;
      if (!act.kind.empty() && !(fold && act_redundant))
        po.append_eltwise(1.f, alg, act.kind == "Relu" ? 0.f : act.kind == "Clip" ? act.alpha * k : act.alpha,
                          act.kind == "Clip" ? act.beta * k : act.beta);
      if (y_quantised && !fold) po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / sy, static_cast<float>(zy));
      attr.set_post_ops(po);
      return dnnl::convolution_forward::primitive_desc(desc, attr, eng);
    };
    auto is_ref = [](const dnnl::convolution_forward::primitive_desc& p) {
      return std::string(p.impl_info_str()).find("ref") != std::string::npos;
    };
    std::optional<dnnl::convolution_forward::primitive_desc> folded;
    bool foldable = y_quantised && scalable && !has_sum;
    for (std::size_t o = 0; o < scales.size() && foldable; ++o) foldable = std::isnormal(scales[o] / sy);
    if (foldable) {
      try {
        folded = make_pd(true);
        if (is_ref(*folded)) folded.reset();
      } catch (const dnnl::error&) {
        folded.reset();  // no kernel for the destination zero point: the linear post-op then
      }
    }
    dnnl::convolution_forward::primitive_desc pd = folded ? *folded : make_pd(false);
    const std::string impl = pd.impl_info_str();
    if (is_ref(pd)) {
      why = "oneDNN has only its reference int8 convolution for this shape (" + impl + ")";
      return nullptr;
    }
    // The quantising reorder: float32 in the convolution's source layout -> its int8 source.
    std::optional<dnnl::reorder::primitive_desc> quantize;
    if (!x_quantized) {
      dnnl::memory::desc f32_md = pd.src_desc();
      f32_md.data.data_type = dnnl_f32;
      dnnl::primitive_attr qattr;
      qattr.set_output_scales(0, {1.f / sx});
      if (zx != 0) qattr.set_zero_points(DNNL_ARG_DST, 0, {zx});
      quantize = dnnl::reorder::primitive_desc(eng, f32_md, eng, pd.src_desc(), qattr);
    }

    dnnl::stream s(eng);
    dnnl::memory w_plain({w_dims, dt::s8, w_tag}, eng, const_cast<void*>(in[1].value->data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::reorder(w_plain, w_mem).execute(s, w_plain, w_mem);
    dnnl::memory b_mem;
    if (has_bias) {
      // oneDNN 2.6 adds the bias to the int32 sum before the output scale:
      // dst = scale[o] * (sum + bias'[o]), so bias' = bias / scale.
      b_mem = dnnl::memory(b_md, eng);
      auto* b = static_cast<float*>(b_mem.get_data_handle());
      const float* bias = in[3].value->ptr<float>();
      for (std::size_t o = 0; o < scales.size(); ++o) b[o] = bias[o] / scales[o];
    }
    s.wait();
    auto k = std::make_unique<Int8Kernel<dnnl::convolution_forward>>(quantize, pd, w_mem, b_mem, has_sum ? 4 : -1);
    k->in_mds = {k->x_desc(), std::nullopt, std::nullopt, std::nullopt};
    if (has_sum) k->in_mds.push_back(pd.dst_desc());
    k->dst_md = pd.dst_desc();
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
