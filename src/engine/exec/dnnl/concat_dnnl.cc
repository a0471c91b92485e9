// Concat on oneDNN: reads each input in the layout its producer wrote (DenseNet and
// Inception blocks concatenate blocked conv outputs without reordering to plain).
#include "exec/dnnl/primitive_kernel.h"
#include "ops/op_util.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_concat(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<Layout>& in_layouts,
                                             const std::vector<ValueType>& out, std::string& why) {
  const Dims& os = out[0].shape;
  if (os.size() < 2 || os.size() > 6) {
    why = "rank outside 2..6";
    return nullptr;
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i].dtype != DType::kF32 || dims_product(in[i].shape) == 0) {
      why = "not float32 or empty input";
      return nullptr;
    }
  }
  const auto axis = static_cast<int>(norm_axis(n, n.attr_i("axis", 0), os.size()));
  try {
    std::vector<dnnl::memory::desc> srcs;
    std::vector<PrimitiveKernel::Arg> args;
    for (std::size_t i = 0; i < in.size(); ++i) {
      srcs.push_back(in_layouts[i] ? *in_layouts[i] : plain_desc(in[i].shape));
      args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), static_cast<int>(i), srcs.back()});
    }
    // Mixed f32/bf16 inputs (a plain f32 tensor beside a bf16 conv output) are reordered
    // to the first input's data type.
    for (std::size_t i = 1; i < srcs.size(); ++i) {
      if (srcs[i].data_type() != srcs[0].data_type()) {
        why = "inputs differ in data type";
        return nullptr;
      }
    }
    dnnl::concat::primitive_desc pd(axis, srcs, cpu_engine());
    auto k = std::make_unique<PrimitiveKernel>(dnnl::concat(pd), pd.impl_info_str(), std::move(args), pd.dst_desc(),
                                               std::unordered_map<int, dnnl::memory>{});
    k->in_mds = in_layouts;
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
