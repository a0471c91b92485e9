// Reductions on oneDNN, reading the producer's (blocked) layout: the global pooling of
// embedding heads (GeM: ReduceMean over H, W) then reorders only the small result.
#include "exec/dnnl/primitive_kernel.h"
#include "ops/op_util.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_reduction(const Node& n, const std::vector<ValueType>& in,
                                                const std::vector<Layout>& in_layouts,
                                                const std::vector<ValueType>& out, std::string& why) {
  const Dims& x = in[0].shape;
  if (in[0].dtype != DType::kF32 || x.empty() || x.size() > 6 || dims_product(x) == 0 || out[0].shape.empty()) {
    why = "not a float32 tensor of rank 1..6 with a non-scalar result";
    return nullptr;
  }
  std::vector<std::int64_t> axes = n.attr_ints("axes");
  if (n.has_input(1)) {
    if (!in[1].value) {
      why = "axes not constant";
      return nullptr;
    }
    axes = to_int64s(*in[1].value);
  }
  if (axes.empty() && n.attr_i("noop_with_empty_axes", 0) != 0) {
    why = "no-op reduction";
    return nullptr;
  }
  Dims kept = x;
  if (axes.empty()) std::fill(kept.begin(), kept.end(), 1);
  for (auto a : axes) kept[static_cast<std::size_t>(norm_axis(n, a, x.size()))] = 1;
  using A = dnnl::algorithm;
  A alg{};
  float p = 0.f;
  if (n.op == "ReduceMean") alg = A::reduction_mean;
  else if (n.op == "ReduceSum") alg = A::reduction_sum;
  else if (n.op == "ReduceMax") alg = A::reduction_max;
  else if (n.op == "ReduceMin") alg = A::reduction_min;
  else if (n.op == "ReduceL2") { alg = A::reduction_norm_lp_sum; p = 2.f; }
  else { alg = A::reduction_norm_lp_sum; p = 1.f; }
  try {
    const dnnl::memory::desc src = in_layouts[0] ? *in_layouts[0] : plain_desc(x);
    // The result is small: plain, so that whatever follows reads it directly.
    const dnnl::memory::desc dst = plain_desc(kept);
    dnnl::reduction::desc d(alg, src, dst, p, 0.f);
    dnnl::reduction::primitive_desc pd(d, cpu_engine());
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) {
      // oneDNN 2.6 has no optimized reduction for this layout; its reference is slower
      // than a reorder to plain plus the engine's contiguous loop.
      why = std::string("oneDNN offers only ") + pd.impl_info_str() + " here";
      return nullptr;
    }
    auto k = std::make_unique<PrimitiveKernel>(dnnl::reduction(pd), pd.impl_info_str(),
                                               std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, src}}, dst,
                                               std::unordered_map<int, dnnl::memory>{});
    k->in_mds = {in_layouts[0], std::nullopt};
    k->dst_md = plain_desc(out[0].shape);  // same bytes, keepdims or not
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
