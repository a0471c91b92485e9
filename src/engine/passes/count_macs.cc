// MAC count of a graph specialised to concrete shapes (model info, micro-batch choice).
#include "passes/passes.h"

namespace pm::engine {

std::int64_t count_macs(const Graph& g, const std::map<std::string, ValueType>& types) {
  std::int64_t macs = 0;
  for (const auto& n : g.nodes) {
    const auto& out = types.at(n.outputs[0]).shape;
    if (n.op == "Conv" || n.op == "ConvTranspose" || n.op == "pm.FusedConv" || n.op == "pm.QConv") {
      const auto& w = types.at(n.inputs[1]).shape;
      std::int64_t per = 1;
      for (std::size_t i = 1; i < w.size(); ++i) per *= w[i];
      // ConvTranspose weights are [C_in, C_out/group, k...]: each input pixel feeds
      // C_out/group * k outputs, so count from the input side.
      if (n.op == "ConvTranspose") macs += dims_product(types.at(n.inputs[0]).shape) * per;
      else macs += dims_product(out) * per;
    } else if (n.op == "Gemm" || n.op == "MatMul" || n.op == "pm.QGemm") {
      const auto& a = types.at(n.inputs[0]).shape;
      const bool ta = n.op == "Gemm" && n.attr_i("transA", 0);
      macs += dims_product(out) * (ta ? a[0] : a.back());
    }
  }
  return macs;
}

}  // namespace pm::engine
