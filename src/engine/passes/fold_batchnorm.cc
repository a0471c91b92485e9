// Conv followed by BatchNormalization (inference) becomes one Conv with scaled weights and
// a shifted bias: w' = w * g/sqrt(v+eps), b' = (b - m) * g/sqrt(v+eps) + beta.
#include <cmath>

#include "passes/passes.h"

namespace pm::engine {

void fold_batchnorm(Graph& g, const PassContext&) {
  auto uses = use_counts(g);
  const auto producer = producers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& bn = g.nodes[i];
    if (bn.op != "BatchNormalization" || bn.outputs.size() != 1 || bn.inputs.size() != 5) continue;
    auto pit = producer.find(bn.inputs[0]);
    if (pit == producer.end()) continue;
    Node& conv = g.nodes[pit->second];
    if (conv.op != "Conv" || uses[conv.outputs[0]] != 1 || !g.is_constant(conv.inputs[1])) continue;
    bool params_const = true;
    for (std::size_t k = 1; k < 5; ++k) params_const = params_const && g.is_constant(bn.inputs[k]);
    if (!params_const) continue;
    const Tensor& w = *g.constant(conv.inputs[1]);
    const std::int64_t oc = w.shape()[0];
    const Tensor *scale = g.constant(bn.inputs[1]), *beta = g.constant(bn.inputs[2]),
                 *mean = g.constant(bn.inputs[3]), *var = g.constant(bn.inputs[4]);
    if (w.dtype() != DType::kF32 || scale->numel() != oc || var->numel() != oc) continue;
    const Tensor* bias = conv.has_input(2) ? g.constant(conv.inputs[2]) : nullptr;
    if (conv.has_input(2) && !bias) continue;
    const float eps = bn.attr_f("epsilon", 1e-5f);
    Tensor nw = w.clone();
    Tensor nb(DType::kF32, {oc});
    const std::int64_t per = w.numel() / oc;
    for (std::int64_t o = 0; o < oc; ++o) {
      const float k = scale->ptr<float>()[o] / std::sqrt(var->ptr<float>()[o] + eps);
      for (std::int64_t j = 0; j < per; ++j) nw.ptr<float>()[o * per + j] *= k;
      const float b0 = bias ? bias->ptr<float>()[o] : 0.f;
      nb.ptr<float>()[o] = (b0 - mean->ptr<float>()[o]) * k + beta->ptr<float>()[o];
    }
    const std::string wname = bn.name + ":folded_w", bname = bn.name + ":folded_b";
    g.constants[wname] = nw;
    g.constants[bname] = nb;
    // The conv moves to the BN's place and takes its output name.
    Node fused = conv;
    fused.inputs.resize(3);
    fused.inputs[1] = wname;
    fused.inputs[2] = bname;
    fused.outputs = bn.outputs;
    drop[pit->second] = true;
    bn = fused;
  }
  drop_nodes(g, drop);
}

}  // namespace pm::engine
