// Stand-alone activations on oneDNN (those the fusion pass could not attach to a conv),
// in the input's own layout.
#include "exec/dnnl/primitive_kernel.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_eltwise(const Node& n, const std::vector<ValueType>& in,
                                              const std::vector<Layout>& in_layouts, std::string& why) {
  if (in[0].dtype != DType::kF32 || in[0].shape.empty() || in[0].shape.size() > 6) {
    why = "not a float32 tensor of rank 1..6";
    return nullptr;
  }
  using A = dnnl::algorithm;
  A alg{};
  float alpha = 0.f, beta = 0.f;
  bool times_x = false;  // a binary post-op multiplying the result by the input
  const std::string& op = n.op;
  if (op == "Relu") alg = A::eltwise_relu;
  else if (op == "LeakyRelu") { alg = A::eltwise_relu; alpha = n.attr_f("alpha", 0.01f); }
  else if (op == "Elu") { alg = A::eltwise_elu; alpha = n.attr_f("alpha", 1.f); }
  else if (op == "Sigmoid") alg = A::eltwise_logistic;
  else if (op == "HardSwish") alg = A::eltwise_hardswish;
  else if (op == "Tanh") alg = A::eltwise_tanh;
  else if (op == "Exp") alg = A::eltwise_exp;
  else if (op == "Sqrt") alg = A::eltwise_sqrt;
  else if (op == "Abs") alg = A::eltwise_abs;
  else if (op == "Gelu") alg = n.attr_s("approximate", "none") == "tanh" ? A::eltwise_gelu_tanh : A::eltwise_gelu_erf;
  else if (op == "Pow") {  // x ^ constant scalar (GeM pooling)
    if (!in[1].value || in[1].value->numel() != 1 || in[1].value->dtype() != DType::kF32) {
      why = "exponent is not a float32 constant scalar";
      return nullptr;
    }
    alg = A::eltwise_pow;
    alpha = 1.f;
    beta = in[1].value->ptr<float>()[0];
    // oneDNN 2.6 computes a general power with a call to powf per element; GeM's
    // exponent 3 is (x*x)*x instead (a square with a multiply-by-x post-op), exactly as
    // the reference Pow computes it.
    if (beta == 2.f) alg = A::eltwise_square;
    if (beta == 3.f) {
      alg = A::eltwise_square;
      times_x = true;
    }
  } else if (op == "HardSigmoid") {  // clamp(alpha*x + beta, 0, 1) = clip(linear)
    why = "HardSigmoid needs two oneDNN eltwise ops";
    return nullptr;
  } else if (op == "Clip") {
    alg = A::eltwise_clip_v2;
    alpha = n.attr_f("min", -3.4e38f);
    beta = n.attr_f("max", 3.4e38f);
    if ((n.has_input(1) && !in[1].value) || (n.has_input(2) && !in[2].value)) {
      why = "Clip bounds are not constant";
      return nullptr;
    }
    if (n.has_input(1)) alpha = in[1].value->ptr<float>()[0];
    if (n.has_input(2)) beta = in[2].value->ptr<float>()[0];
  } else {
    why = "no oneDNN eltwise for " + op;
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const dnnl::memory::desc md = in_layouts[0] ? *in_layouts[0] : plain_desc(in[0].shape);
    std::unique_ptr<PrimitiveKernel> k;
    if (times_x) {
      // (x * x) * x: a binary multiply of x by itself with a multiply-by-x post-op (the
      // eltwise primitive takes a binary post-op only in its slow reference version).
      dnnl::post_ops po;
      po.append_binary(A::binary_mul, md);
      dnnl::primitive_attr attr;
      attr.set_post_ops(po);
      dnnl::binary::desc d(A::binary_mul, md, md, md);
      dnnl::binary::primitive_desc pd(d, attr, eng);
      std::vector<PrimitiveKernel::Arg> args{
          {DNNL_ARG_SRC_0, 0, md}, {DNNL_ARG_SRC_1, 0, md}, {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, 0, md}};
      k = std::make_unique<PrimitiveKernel>(dnnl::binary(pd), pd.impl_info_str(), std::move(args), pd.dst_desc(),
                                            std::unordered_map<int, dnnl::memory>{});
    } else {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, alpha, beta);
      dnnl::eltwise_forward::primitive_desc pd(d, eng);
      k = std::make_unique<PrimitiveKernel>(dnnl::eltwise_forward(pd), pd.impl_info_str(),
                                            std::vector<PrimitiveKernel::Arg>{{DNNL_ARG_SRC, 0, md}}, pd.dst_desc(),
                                            std::unordered_map<int, dnnl::memory>{});
    }
    k->in_mds = {in_layouts[0]};
    for (std::size_t i = 1; i < n.inputs.size(); ++i) k->in_mds.push_back(std::nullopt);
    return k;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
