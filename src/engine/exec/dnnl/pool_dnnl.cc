// MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool on oneDNN, in whatever layout
// the input already has (pooling keeps the producer's blocked layout).
#include "exec/dnnl/primitive_kernel.h"
#include "ops/conv_geometry.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_pool(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<Layout>& in_layouts,
                                           const std::vector<ValueType>& out, std::string& why) {
  const Dims& x = in[0].shape;
  if (x.size() != 4 || in[0].dtype != DType::kF32) {
    why = "only 2-D float32 pooling goes to oneDNN";
    return nullptr;
  }
  if (n.outputs.size() > 1) {
    why = "MaxPool indices output";
    return nullptr;
  }
  const bool global = n.op == "GlobalAveragePool" || n.op == "GlobalMaxPool";
  const bool is_max = n.op == "MaxPool" || n.op == "GlobalMaxPool";
  Window2D w;
  if (global) {
    w.kh = w.ih = w.oh = x[2];
    w.kw = w.iw = w.ow = x[3];
    w.oh = w.ow = 1;
  } else {
    auto k = n.attr_ints("kernel_shape");
    w = window_2d(n, x, k.at(0), k.at(1), n.attr_i("ceil_mode", 0) != 0);
  }
  const bool include_pad = n.attr_i("count_include_pad", 0) != 0;
  // oneDNN derives the output size with floor: ceil_mode becomes extra right padding.
  const std::int64_t ekh = (w.kh - 1) * w.dh + 1, ekw = (w.kw - 1) * w.dw + 1;
  const std::int64_t pb = (w.oh - 1) * w.sh + ekh - w.ih - w.pt;
  const std::int64_t pr = (w.ow - 1) * w.sw + ekw - w.iw - w.pl;
  if (!is_max && include_pad && (pb > w.pb || pr > w.pr)) {
    why = "count_include_pad with ceil_mode overhang differs from oneDNN's include_padding";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const dnnl::memory::desc src_md = in_layouts[0] ? *in_layouts[0] : plain_desc(x);
    dnnl::memory::desc dst_any(to_dnnl_dims(out[0].shape), src_md.data_type(), dnnl::memory::format_tag::any);
    const auto alg = is_max ? dnnl::algorithm::pooling_max
                     : include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                   : dnnl::algorithm::pooling_avg_exclude_padding;
    dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src_md, dst_any, {w.sh, w.sw},
                                     {w.kh, w.kw}, {w.dh - 1, w.dw - 1}, {w.pt, w.pl}, {pb, pr});
    dnnl::pooling_v2_forward::primitive_desc pd(d, eng);
    auto k = std::make_unique<PrimitiveKernel>(dnnl::pooling_v2_forward(pd), pd.impl_info_str(),
                                               std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, src_md}},
                                               pd.dst_desc(), std::unordered_map<int, dnnl::memory>{});
    k->in_mds = {in_layouts[0]};
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
