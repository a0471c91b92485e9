// Which oneDNN kernel takes which op.
#include "exec/dnnl/dnnl_kernels.h"

namespace pm::engine {

std::unique_ptr<DnnlKernel> make_dnnl_kernel(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<Layout>& in_layouts,
                                             const std::vector<ValueType>& out, const EngineOptions& opts,
                                             std::string& why) {
  const std::string& op = n.op;
  if (op == "Conv" || op == "pm.FusedConv" || op == "pm.FusedConvDw") return make_dnnl_conv(n, in, out, opts, false, why);
  if (op == "ConvTranspose") return make_dnnl_conv_transpose(n, in, out, why);
  if (op == "pm.QConv") return make_dnnl_qconv(n, in, out, why);
  if (op == "pm.QGemm") return make_dnnl_qgemm(n, in, out, why);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool")
    return make_dnnl_pool(n, in, in_layouts, out, why);
  if (op == "Gemm") return make_dnnl_gemm(n, in, out, why);
  if (op == "Relu" || op == "LeakyRelu" || op == "Clip" || op == "Sigmoid" || op == "HardSwish" || op == "Tanh" ||
      op == "Elu" || op == "HardSigmoid" || op == "Exp" || op == "Sqrt" || op == "Abs" || op == "Gelu" || op == "Erf" ||
      op == "Pow")
    return make_dnnl_eltwise(n, in, in_layouts, why);
  if (op == "Add" || op == "Mul" || op == "Sub" || op == "Div" || op == "Max" || op == "Min")
    return make_dnnl_binary(n, in, in_layouts, out, why);
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin" || op == "ReduceL2" ||
      op == "ReduceL1")
    return make_dnnl_reduction(n, in, in_layouts, out, why);
  if (op == "Concat") return make_dnnl_concat(n, in, in_layouts, out, why);
  if (op == "BatchNormalization") return make_dnnl_batchnorm(n, in, in_layouts, why);
  if (op == "MatMul") return make_dnnl_matmul(n, in, out, why);
  why = "no oneDNN kernel for " + op;
  return nullptr;
}

bool dnnl_runs_well(const Node& n, const std::vector<ValueType>& in, const std::vector<ValueType>& out,
                    const EngineOptions& opts) {
  std::string why;
  const std::vector<Layout> layouts(in.size());
  auto k = make_dnnl_kernel(n, in, layouts, out, opts, why);
  return k && k->name().find(":ref") == std::string::npos;
}

}  // namespace pm::engine
