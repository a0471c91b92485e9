// Conv / pm.FusedConv on oneDNN: bias, sum (residual) and eltwise as post-ops; weights
// reordered once, when the kernel is built, into the layout the primitive chose.
#include <cstring>
#include <iostream>
#include <optional>

#include "exec/dnnl/dnnl_common.h"
#include "exec/dnnl/dnnl_kernels.h"
#include "ops/conv.h"
#include "ops/conv_geometry.h"

namespace pm::engine {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

class DnnlConv final : public DnnlKernel {
 public:
  DnnlConv(dnnl::convolution_forward::primitive_desc pd, dnnl::memory weights, dnnl::memory bias, bool has_sum,
           dnnl::memory dw_weights, dnnl::memory dw_bias)
      : pd_(std::move(pd)), prim_(pd_), weights_(std::move(weights)), bias_(std::move(bias)),
        dw_weights_(std::move(dw_weights)), dw_bias_(std::move(dw_bias)), has_sum_(has_sum),
        stream_(cpu_engine()) {
    in_mds = {pd_.src_desc(), std::nullopt, std::nullopt};
    if (has_sum_) in_mds.push_back(pd_.dst_desc());
    if (dw_weights_) in_mds.insert(in_mds.end(), {std::nullopt, std::nullopt});
    dst_md = pd_.dst_desc();
  }

  void run(const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    if (has_sum_ && in[3]->data() != out[0].data())
      std::memcpy(out[0].data(), in[3]->data(), dst_md.get_size());
    dnnl::memory src(*in_mds[0], cpu_engine(), const_cast<void*>(in[0]->data()));
    dnnl::memory dst(dst_md, cpu_engine(), out[0].data());
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst}};
    if (bias_) args[DNNL_ARG_BIAS] = bias_;
    if (dw_weights_) {
      args[DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS] = dw_weights_;
      args[DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS] = dw_bias_;
    }
    prim_.execute(stream_, args);
    stream_.wait();
  }
  std::string implementation() const override { return pd_.impl_info_str(); }

 private:
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward prim_;
  dnnl::memory weights_, bias_, dw_weights_, dw_bias_;
  bool has_sum_;
  dnnl::stream stream_;
};

}  // namespace

std::unique_ptr<DnnlKernel> make_dnnl_conv(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<ValueType>& out, const EngineOptions& opts,
                                           bool plain_io, std::string& why) {
  const Dims& xs = in[0].shape;
  const Dims& ws = in[1].shape;
  if (xs.size() != 4) {
    why = "only 2-D convolutions go to oneDNN (input " + dims_str(xs) + ")";
    return nullptr;
  }
  if (!in[1].value || (n.has_input(2) && !in[2].value)) {
    why = "weights or bias are not constant";
    return nullptr;
  }
  if (in[0].dtype != DType::kF32 || in[1].value->dtype() != DType::kF32) {
    why = "not float32";
    return nullptr;
  }
  const std::int64_t group = n.attr_i("group", 1);
  Window2D w = window_2d(n, xs, ws[2], ws[3]);
  const bool fused = n.op == "pm.FusedConv" || n.op == "pm.FusedConvDw";
  const bool dw = n.op == "pm.FusedConvDw";
  const FusedActivation act = fused ? fused_activation(n) : FusedActivation{};
  const FusedActivation dw_act = dw ? fused_dw_activation(n) : FusedActivation{};
  dnnl::algorithm eltwise_alg{}, dw_eltwise_alg{};
  for (const auto& [a, alg] : {std::pair{&act, &eltwise_alg}, std::pair{&dw_act, &dw_eltwise_alg}}) {
    if (!a->kind.empty() && !dnnl_eltwise_for(a->kind, *alg)) {
      why = "activation " + a->kind + " has no oneDNN post-op";
      return nullptr;
    }
  }
  if (dw && (!in[3].value || (n.has_input(4) && !in[4].value))) {
    why = "depthwise weights or bias are not constant";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const dnnl::memory::dims src_dims{xs[0], xs[1], xs[2], xs[3]};
    // pm.FusedConvDw: the descriptor is the 1x1 stage's; oneDNN's dst is the depthwise output.
    const dnnl::memory::dims dst_dims =
        dw ? dnnl::memory::dims{xs[0], ws[0], xs[2], xs[3]}
           : dnnl::memory::dims{out[0].shape[0], out[0].shape[1], out[0].shape[2], out[0].shape[3]};
    dnnl::memory::dims w_dims;
    tag w_tag;
    if (group == 1) {
      w_dims = {ws[0], ws[1], ws[2], ws[3]};
      w_tag = tag::oihw;
    } else {
      w_dims = {group, ws[0] / group, ws[1], ws[2], ws[3]};
      w_tag = tag::goihw;
    }
    // bf16: activations and weights in bf16, accumulation and bias in f32 (oneDNN's rule).
    const dt act_dt = opts.precision == Precision::kBF16 && !plain_io && cpu_has_bf16() ? dt::bf16 : dt::f32;
    dnnl::memory::desc src_md(src_dims, act_dt, plain_io ? tag::nchw : tag::any);
    dnnl::memory::desc dst_md(dst_dims, act_dt, plain_io ? tag::nchw : tag::any);
    dnnl::memory::desc w_any(w_dims, act_dt, tag::any);
    dnnl::memory::desc b_md({ws[0]}, dt::f32, tag::x);
    const bool has_bias = n.has_input(2);
    const dnnl::memory::dims strides{w.sh, w.sw}, dil{w.dh - 1, w.dw - 1}, pl{w.pt, w.pl}, pr{w.pb, w.pr};
    dnnl::post_ops po;
    const bool has_sum = n.op == "pm.FusedConv" && n.has_input(3);
    if (has_sum) po.append_sum(1.f);
    auto append_act = [&](const FusedActivation& a, dnnl::algorithm alg) {
      if (a.kind.empty()) return;
      po.append_eltwise(1.f, alg, a.kind == "Relu" ? 0.f : a.alpha, a.beta);
    };
    append_act(act, eltwise_alg);
    if (dw) {
      po.append_dw(act_dt, dt::f32, act_dt, 3, n.attr_i("dw_stride", 1), 1, 0, {});
      append_act(dw_act, dw_eltwise_alg);
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    auto make_pd = [&](dnnl::algorithm alg) {
      auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src_md,
                                                             w_any, b_md, dst_md, strides, dil, pl, pr)
                           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src_md,
                                                             w_any, dst_md, strides, dil, pl, pr);
      return dnnl::convolution_forward::primitive_desc(desc, attr, eng);
    };
    // Winograd F(4x4, 3x3): fp32 only in oneDNN 2.6, 3x3 stride 1 without dilation or
    // groups; oneDNN refuses the shapes it has no kernel for, and direct takes over.
    const bool winograd = opts.conv_algorithm == ConvAlgorithm::kAuto && act_dt == dt::f32 && !plain_io && !dw &&
                          group == 1 && ws[2] == 3 && ws[3] == 3 && w.sh == 1 && w.sw == 1 && w.dh == 1 &&
                          w.dw == 1;
    std::optional<dnnl::convolution_forward::primitive_desc> wino;
    if (winograd) {
      try {
        wino = make_pd(dnnl::algorithm::convolution_winograd);
      } catch (const dnnl::error& e) {
        if (opts.verbose) std::cerr << "[engine] " << n.label() << ": no Winograd kernel (" << e.what() << ")\n";
      }
    }
    dnnl::convolution_forward::primitive_desc pd = wino ? *wino : make_pd(dnnl::algorithm::convolution_direct);
    // Weights: plain -> the primitive's layout, once.
    dnnl::memory w_plain({w_dims, dt::f32, w_tag}, eng, const_cast<void*>(in[1].value->data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::stream s(eng);
    dnnl::reorder(w_plain, w_mem).execute(s, w_plain, w_mem);
    dnnl::memory b_mem;
    if (has_bias) {
      b_mem = dnnl::memory(b_md, eng);
      std::memcpy(b_mem.get_data_handle(), in[2].value->data(), static_cast<std::size_t>(ws[0]) * 4);
    }
    dnnl::memory dw_w, dw_b;
    if (dw) {
      const std::int64_t c = ws[0];
      dnnl::memory dw_plain({{c, 1, 1, 3, 3}, dt::f32, tag::goihw}, eng, const_cast<void*>(in[3].value->data()));
      dw_w = dnnl::memory(pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS), eng);
      dnnl::reorder(dw_plain, dw_w).execute(s, dw_plain, dw_w);
      dw_b = dnnl::memory({{c}, dt::f32, tag::x}, eng);
      if (n.has_input(4)) std::memcpy(dw_b.get_data_handle(), in[4].value->data(), static_cast<std::size_t>(c) * 4);
      else std::memset(dw_b.get_data_handle(), 0, static_cast<std::size_t>(c) * 4);
      if (pd.dst_desc().dims() != dnnl::memory::dims(out[0].shape.begin(), out[0].shape.end())) {
        why = "oneDNN's fused depthwise output does not have the node's shape";
        return nullptr;
      }
    }
    s.wait();
    return std::make_unique<DnnlConv>(pd, w_mem, b_mem, has_sum, dw_w, dw_b);
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
