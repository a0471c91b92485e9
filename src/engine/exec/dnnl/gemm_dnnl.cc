// Gemm with constant B (a fully connected layer) as a oneDNN inner product; weights
// reordered once.
#include <cstring>

#include "exec/dnnl/primitive_kernel.h"
#include "ops/op_util.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_gemm(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<ValueType>& out, std::string& why) {
  if (n.attr_i("transA", 0) != 0 || n.attr_f("alpha", 1.f) != 1.f || in[0].dtype != DType::kF32) {
    why = "transA, alpha != 1 or not float32";
    return nullptr;
  }
  if (!in[1].value || in[1].value->dtype() != DType::kF32) {
    why = "B is not a float32 constant";
    return nullptr;
  }
  const std::int64_t m = out[0].shape[0], nn = out[0].shape[1], k = in[0].shape[1];
  const Tensor* c = n.has_input(2) ? in[2].value : nullptr;
  if (n.has_input(2) && (!c || c->dtype() != DType::kF32 || c->numel() != nn || n.attr_f("beta", 1.f) != 1.f ||
                         (in[2].shape.size() == 2 && in[2].shape[0] != 1))) {
    why = "C is not a constant row vector with beta 1";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dnnl::memory::desc src_md({m, k}, dt::f32, tag::nc);
    dnnl::memory::desc w_any({nn, k}, dt::f32, tag::any);
    dnnl::memory::desc b_md({nn}, dt::f32, tag::x);
    dnnl::memory::desc dst_md({m, nn}, dt::f32, tag::nc);
    auto d = c ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md, w_any, b_md, dst_md)
               : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md, w_any, dst_md);
    dnnl::inner_product_forward::primitive_desc pd(d, eng);
    // B is [K, N] (transB = 0) or [N, K] (transB = 1); the weights are [N, K].
    const bool tb = n.attr_i("transB", 0) != 0;
    dnnl::memory::desc w_plain({nn, k}, dt::f32, tb ? dnnl::memory::dims{k, 1} : dnnl::memory::dims{1, nn});
    dnnl::memory w_src(w_plain, eng, const_cast<void*>(in[1].value->data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::stream s(eng);
    dnnl::reorder(w_src, w_mem).execute(s, w_src, w_mem);
    s.wait();
    std::unordered_map<int, dnnl::memory> bound{{DNNL_ARG_WEIGHTS, w_mem}};
    if (c) {
      dnnl::memory b_mem(b_md, eng);
      std::memcpy(b_mem.get_data_handle(), c->data(), static_cast<std::size_t>(nn) * 4);
      bound[DNNL_ARG_BIAS] = b_mem;
    }
    auto kern = std::make_unique<PrimitiveKernel>(dnnl::inner_product_forward(pd), pd.impl_info_str(),
                                                  std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, src_md}},
                                                  dst_md, std::move(bound));
    kern->in_mds = {std::nullopt, std::nullopt, std::nullopt};
    return kern;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
