// BatchNormalization that BN folding could not absorb (after a Concat or a Relu, as in
// DenseNet) on oneDNN, in the input's layout, with constant statistics bound once.
#include <cstring>

#include "exec/dnnl/primitive_kernel.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_batchnorm(const Node& n, const std::vector<ValueType>& in,
                                                const std::vector<Layout>& in_layouts, std::string& why) {
  if (in[0].dtype != DType::kF32 || in[0].shape.size() < 2 || in[0].shape.size() > 5) {
    why = "not a float32 tensor of rank 2..5";
    return nullptr;
  }
  for (std::size_t i = 1; i < 5; ++i) {
    if (i >= in.size() || !in[i].value || in[i].value->dtype() != DType::kF32) {
      why = "scale, bias, mean or variance is not a float32 constant";
      return nullptr;
    }
  }
  if (n.attr_i("training_mode", 0) != 0) {
    why = "training mode";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const dnnl::memory::desc md = in_layouts[0] ? *in_layouts[0] : plain_desc(in[0].shape);
    const auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                       dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, md, n.attr_f("epsilon", 1e-5f),
                                              flags);
    dnnl::batch_normalization_forward::primitive_desc pd(d, eng);
    const std::int64_t c = in[0].shape[1];
    auto bind = [&](std::size_t input) {
      dnnl::memory m({{c}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x}, eng);
      std::memcpy(m.get_data_handle(), in[input].value->data(), static_cast<std::size_t>(c) * 4);
      return m;
    };
    std::unordered_map<int, dnnl::memory> bound{{DNNL_ARG_SCALE, bind(1)}, {DNNL_ARG_SHIFT, bind(2)},
                                                {DNNL_ARG_MEAN, bind(3)}, {DNNL_ARG_VARIANCE, bind(4)}};
    auto k = std::make_unique<PrimitiveKernel>(dnnl::batch_normalization_forward(pd), pd.impl_info_str(),
                                               std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, md}},
                                               pd.dst_desc(), std::move(bound));
    k->in_mds = {in_layouts[0], std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
