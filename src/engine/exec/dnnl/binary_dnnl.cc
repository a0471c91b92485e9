// Add/Sub/Mul/Div/Max/Min on oneDNN: same-shape operands in the first operand's layout
// (the second is reordered to match), or a plain broadcast second operand (per-channel
// scales of squeeze-excitation blocks, biases).
#include "exec/dnnl/primitive_kernel.h"

namespace pm::engine {

namespace {

dnnl::memory::desc padded_plain(const Dims& shape, std::size_t rank) {
  Dims d(rank - shape.size(), 1);
  d.insert(d.end(), shape.begin(), shape.end());
  return plain_desc(d);
}

}  // namespace

std::unique_ptr<DnnlKernel> make_dnnl_binary(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<Layout>& in_layouts,
                                             const std::vector<ValueType>& out, std::string& why) {
  if (n.inputs.size() != 2 || in[0].dtype != DType::kF32 || in[1].dtype != DType::kF32) {
    why = "not two float32 operands";
    return nullptr;
  }
  const Dims& os = out[0].shape;
  if (os.empty() || os.size() > 6) {
    why = "rank outside 1..6";
    return nullptr;
  }
  using A = dnnl::algorithm;
  A alg{};
  const bool commutative = n.op == "Add" || n.op == "Mul" || n.op == "Max" || n.op == "Min";
  if (n.op == "Add") alg = A::binary_add;
  else if (n.op == "Sub") alg = A::binary_sub;
  else if (n.op == "Mul") alg = A::binary_mul;
  else if (n.op == "Div") alg = A::binary_div;
  else if (n.op == "Max") alg = A::binary_max;
  else alg = A::binary_min;
  // oneDNN broadcasts only the second operand.
  int a = 0, b = 1;
  if (in[0].shape != os) {
    if (!commutative || in[1].shape != os) {
      why = "the first operand broadcasts";
      return nullptr;
    }
    std::swap(a, b);
  }
  const std::size_t ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
  if (!in_layouts[ua] && in[ub].shape != os) {
    // oneDNN's generic broadcast kernel (jit:uni) is slower than the reference loop on
    // plain tensors, e.g. a per-channel mean on an NHWC image.
    why = "plain broadcast: the reference loop is faster";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const dnnl::memory::desc md0 = in_layouts[ua] ? *in_layouts[ua] : plain_desc(os);
    const bool same = in[ub].shape == os;
    const dnnl::memory::desc md1 = same ? md0 : padded_plain(in[ub].shape, os.size());
    dnnl::memory::desc dst_any(to_dnnl_dims(os), md0.data_type(), dnnl::memory::format_tag::any);
    dnnl::binary::desc d(alg, md0, md1, dst_any);
    dnnl::binary::primitive_desc pd(d, eng);
    auto k = std::make_unique<PrimitiveKernel>(
        dnnl::binary(pd), pd.impl_info_str(),
        std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC_0, a, md0}, {DNNL_ARG_SRC_1, b, md1}}, pd.dst_desc(),
        std::unordered_map<int, dnnl::memory>{});
    k->in_mds.assign(2, std::nullopt);
    k->in_mds[ua] = in_layouts[ua];
    k->in_mds[ub] = same ? Layout(md0) : std::nullopt;
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
