// [Cast(to float)] -> Sub(x, mean) -> Div(., std) -> Transpose(0,3,1,2) becomes
// pm.NormalizeToNCHW: the image prologue of networks that take NHWC pixels (the default
// model) in one pass instead of four.
#include "passes/passes.h"

namespace pm::engine {

void fuse_input_normalization(Graph& g, const PassContext& ctx) {
  auto uses = use_counts(g);
  std::map<std::string, std::size_t> producer;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& v : g.nodes[i].outputs) producer[v] = i;
  auto single_producer = [&](const std::string& v, const char* op) -> Node* {
    auto it = producer.find(v);
    if (it == producer.end() || uses[v] != 1 || g.nodes[it->second].op != op) return nullptr;
    return &g.nodes[it->second];
  };
  std::vector<bool> drop(g.nodes.size(), false);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& tr = g.nodes[i];
    if (tr.op != "Transpose" || tr.attr_ints("perm") != std::vector<std::int64_t>{0, 3, 1, 2}) continue;
    Node* div = single_producer(tr.inputs[0], "Div");
    if (!div || !g.is_constant(div->inputs[1])) continue;
    Node* sub = single_producer(div->inputs[0], "Sub");
    if (!sub || !g.is_constant(sub->inputs[1])) continue;
    std::string src = sub->inputs[0];
    Node* cast = single_producer(src, "Cast");
    if (cast && cast->attr_i("to", 1) == 1) src = cast->inputs[0];
    else cast = nullptr;
    const ValueType& st = ctx.types->at(src);
    const Tensor* mean = g.constant(sub->inputs[1]);
    const Tensor* stdv = g.constant(div->inputs[1]);
    if (st.shape.size() != 4 || (st.dtype != DType::kU8 && st.dtype != DType::kF32)) continue;
    if (mean->dtype() != DType::kF32 || stdv->dtype() != DType::kF32) continue;
    auto per_channel = [&](const Tensor& t) {
      if (t.numel() == 1) return true;
      if (t.numel() != st.shape[3]) return false;
      for (std::size_t d = 0; d + 1 < t.shape().size(); ++d)
        if (t.shape()[d] != 1) return false;
      return !t.shape().empty() && t.shape().back() == st.shape[3];
    };
    if (!per_channel(*mean) || !per_channel(*stdv)) continue;
    Node fused;
    fused.op = "pm.NormalizeToNCHW";
    fused.name = tr.name + ":normalize";
    fused.inputs = {src, sub->inputs[1], div->inputs[1]};
    fused.outputs = tr.outputs;
    if (cast) drop[producer[cast->outputs[0]]] = true;
    drop[producer[sub->outputs[0]]] = true;
    drop[producer[div->outputs[0]]] = true;
    tr = fused;
  }
  std::vector<Node> kept;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

}  // namespace pm::engine
