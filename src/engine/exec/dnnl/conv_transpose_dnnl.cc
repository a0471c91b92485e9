// ConvTranspose on oneDNN's deconvolution (2-D, float32, constant weights): weights read in
// ONNX's [C_in, C_out/group, kh, kw] order through oneDNN's iohw/giohw tags and reordered
// once, bias bound once. ONNX's output_padding becomes a smaller right/bottom pad.
#include <cstring>

#include "exec/dnnl/primitive_kernel.h"
#include "ops/conv_geometry.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_conv_transpose(const Node& n, const std::vector<ValueType>& in,
                                                     const std::vector<ValueType>& out, std::string& why) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const Dims& xs = in[0].shape;
  const Dims& ws = in[1].shape;
  if (xs.size() != 4 || in[0].dtype != DType::kF32) {
    why = "only 2-D float32 ConvTranspose goes to oneDNN";
    return nullptr;
  }
  if (!in[1].value || in[1].value->dtype() != DType::kF32 || (n.has_input(2) && !in[2].value)) {
    why = "weights or bias are not float32 constants";
    return nullptr;
  }
  const std::int64_t group = n.attr_i("group", 1);
  const TGeom g = tgeom(n, xs, ws);
  // oneDNN: out = s (in - 1) + (k - 1) d + 1 - pad_l - pad_r; ONNX's output_padding is
  // the difference between that with ONNX's pads and the node's output.
  const std::int64_t pr_h = (g.ih - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.pt - g.oh;
  const std::int64_t pr_w = (g.iw - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.pl - g.ow;
  if (g.pt < 0 || g.pl < 0 || pr_h < 0 || pr_w < 0) {
    why = "padding that oneDNN cannot express (output larger than the full result)";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const std::int64_t oc = out[0].shape[1];
    const dnnl::memory::dims src_dims{xs[0], xs[1], xs[2], xs[3]};
    const dnnl::memory::dims dst_dims{out[0].shape[0], oc, out[0].shape[2], out[0].shape[3]};
    dnnl::memory::dims w_dims;
    tag w_tag;
    if (group == 1) {
      w_dims = {oc, ws[0], ws[2], ws[3]};
      w_tag = tag::iohw;
    } else {
      w_dims = {group, oc / group, ws[0] / group, ws[2], ws[3]};
      w_tag = tag::giohw;
    }
    const dnnl::memory::desc src_md(src_dims, dt::f32, tag::any);  // the plan reorders into pd's choice
    const dnnl::memory::desc dst_any(dst_dims, dt::f32, tag::any);
    const dnnl::memory::desc w_any(w_dims, dt::f32, tag::any);
    const dnnl::memory::desc b_md({oc}, dt::f32, tag::x);
    const dnnl::memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pl{g.pt, g.pl}, pr{pr_h, pr_w};
    const bool has_bias = n.has_input(2);
    auto d = has_bias ? dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                          dnnl::algorithm::deconvolution_direct, src_md, w_any, b_md,
                                                          dst_any, strides, dil, pl, pr)
                      : dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                          dnnl::algorithm::deconvolution_direct, src_md, w_any,
                                                          dst_any, strides, dil, pl, pr);
    dnnl::deconvolution_forward::primitive_desc pd(d, eng);
    dnnl::memory w_plain({w_dims, dt::f32, w_tag}, eng, const_cast<void*>(in[1].value->data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::stream s(eng);
    dnnl::reorder(w_plain, w_mem).execute(s, w_plain, w_mem);
    s.wait();
    std::unordered_map<int, dnnl::memory> bound{{DNNL_ARG_WEIGHTS, w_mem}};
    if (has_bias) {
      dnnl::memory b_mem(b_md, eng);
      std::memcpy(b_mem.get_data_handle(), in[2].value->data(), static_cast<std::size_t>(oc) * 4);
      bound[DNNL_ARG_BIAS] = b_mem;
    }
    auto k = std::make_unique<PrimitiveKernel>(dnnl::deconvolution_forward(pd), pd.impl_info_str(),
                                               std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               pd.dst_desc(), std::move(bound));
    k->in_mds = {pd.src_desc(), std::nullopt};
    if (n.has_input(2)) k->in_mds.push_back(std::nullopt);
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
