// Fusion of what oneDNN applies as post-ops: Conv -> Add(residual) -> activation becomes
// pm.FusedConv with the residual as input 3 (oneDNN sum post-op) and an activation
// attribute (eltwise post-op). The fused node takes the place of the last node it
// absorbs, so every input is defined before it.
#include <cmath>
#include <set>

#include "passes/passes.h"

namespace pm::engine {

namespace {

bool is_conv(const Node& n) { return n.op == "Conv" || n.op == "pm.FusedConv" || n.op == "pm.QConv"; }

// Where a fused residual goes: input 3 of pm.FusedConv, input 4 of pm.QConv (after its
// weight scales and bias).
std::size_t residual_input(const Node& n) { return n.op == "pm.QConv" ? 4 : 3; }

}  // namespace

void fuse_conv_sum(Graph& g, const PassContext& ctx) {
  auto uses = use_counts(g);
  const auto producer = producers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& add = g.nodes[i];
    if (add.op != "Add" || add.inputs.size() != 2) continue;
    const auto& out_t = ctx.types->at(add.outputs[0]);
    if (out_t.dtype != DType::kF32) continue;
    // Either operand may be the conv; the other is the residual, same shape, not constant.
    for (int side = 0; side < 2; ++side) {
      const std::string& cv = add.inputs[side];
      const std::string& res = add.inputs[1 - side];
      auto pit = producer.find(cv);
      if (pit == producer.end() || drop[pit->second]) continue;
      Node& conv = g.nodes[pit->second];
      const std::size_t r = residual_input(conv);
      if (!is_conv(conv) || uses[cv] != 1 || conv.has_input(r) || conv.has_attr("activation")) continue;
      if (ctx.types->at(res).shape != out_t.shape || g.is_constant(res) || res == cv) continue;
      Node fused = conv;
      if (conv.op != "pm.QConv") fused.op = "pm.FusedConv";
      fused.inputs.resize(r + 1);
      fused.inputs[r] = res;
      fused.outputs = add.outputs;
      drop[pit->second] = true;
      add = fused;
      break;
    }
  }
  drop_nodes(g, drop);
}

void fuse_conv_activation(Graph& g, const PassContext& ctx) {
  auto uses = use_counts(g);
  const auto producer = producers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& act = g.nodes[i];
    static const std::set<std::string> kActs{"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSwish", "Tanh"};
    if (!kActs.count(act.op) || act.inputs.empty()) continue;
    auto pit = producer.find(act.inputs[0]);
    if (pit == producer.end() || drop[pit->second]) continue;
    Node& conv = g.nodes[pit->second];
    if (!is_conv(conv) || uses[act.inputs[0]] != 1 || conv.has_attr("activation")) continue;
    Attr kind, alpha, beta;
    kind.kind = Attr::Kind::kString;
    kind.s = act.op;
    alpha.kind = beta.kind = Attr::Kind::kFloat;
    if (act.op == "Clip") {
      alpha.f = -INFINITY;
      beta.f = INFINITY;
      if (act.has_input(1)) {
        const Tensor* t = g.constant(act.inputs[1]);
        if (!t) continue;
        alpha.f = t->ptr<float>()[0];
      }
      if (act.has_input(2)) {
        const Tensor* t = g.constant(act.inputs[2]);
        if (!t) continue;
        beta.f = t->ptr<float>()[0];
      }
    } else if (act.op == "LeakyRelu") {
      alpha.f = act.attr_f("alpha", 0.01f);
    }
    Node fused = conv;
    if (conv.op != "pm.QConv") fused.op = "pm.FusedConv";
    fused.attrs["activation"] = kind;
    fused.attrs["activation_alpha"] = alpha;
    fused.attrs["activation_beta"] = beta;
    fused.outputs = act.outputs;
    drop[pit->second] = true;
    act = fused;
  }
  drop_nodes(g, drop);
}

}  // namespace pm::engine
