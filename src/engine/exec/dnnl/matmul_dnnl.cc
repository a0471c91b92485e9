// MatMul with a constant 2-D right operand (transformer-style linear layers, ConvNeXt's
// pointwise MLPs) on oneDNN matmul; weights reordered once.
#include "exec/dnnl/primitive_kernel.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_matmul(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<ValueType>& out, std::string& why) {
  const Dims& a = in[0].shape;
  if (in[0].dtype != DType::kF32 || a.size() < 2 || a.size() > 6) {
    why = "A is not a float32 tensor of rank 2..6";
    return nullptr;
  }
  if (!in[1].value || in[1].value->dtype() != DType::kF32 || in[1].shape.size() != 2) {
    why = "B is not a constant float32 matrix";
    return nullptr;
  }
  const std::int64_t k = in[1].shape[0], nn = in[1].shape[1];
  try {
    auto& eng = cpu_engine();
    using dt = dnnl::memory::data_type;
    // Fold A's leading dims into M: [..., M, K] x [K, N] is one [M', K] x [K, N] product.
    const std::int64_t m = dims_product(a) / k;
    dnnl::memory::desc src_md({m, k}, dt::f32, dnnl::memory::format_tag::ab);
    dnnl::memory::desc w_any({k, nn}, dt::f32, dnnl::memory::format_tag::any);
    dnnl::memory::desc dst_md({m, nn}, dt::f32, dnnl::memory::format_tag::ab);
    dnnl::matmul::desc d(src_md, w_any, dst_md);
    dnnl::matmul::primitive_desc pd(d, eng);
    dnnl::memory w_src({{k, nn}, dt::f32, dnnl::memory::format_tag::ab}, eng, const_cast<void*>(in[1].value->data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::stream s(eng);
    dnnl::reorder(w_src, w_mem).execute(s, w_src, w_mem);
    s.wait();
    auto kern = std::make_unique<PrimitiveKernel>(dnnl::matmul(pd), pd.impl_info_str(),
                                                  std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, src_md}},
                                                  dst_md, std::unordered_map<int, dnnl::memory>{{DNNL_ARG_WEIGHTS, w_mem}});
    kern->in_mds = {std::nullopt, std::nullopt};
    // The output is plain with the ONNX shape; the kernel's 2-D view has the same bytes.
    kern->dst_md = plain_desc(out[0].shape);
    return kern;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
