// Conv 1x1 (+ bias + activation) whose only reader is a 3x3 depthwise Conv (pad 1,
// stride 1 or 2, + bias + activation) becomes one pm.FusedConvDw: oneDNN computes the
// depthwise stage from the 1x1 stage's rows while they are in cache, so the wide
// intermediate (MobileNet's expanded activations) is never written to memory. Only where
// the backend has a real fused kernel (PassContext::backend_runs).
#include "ops/conv.h"
#include "ops/conv_geometry.h"
#include "passes/passes.h"

namespace pm::engine {

namespace {

bool no_sum(const Node& n) { return !n.has_input(3); }

bool all_equal(const std::vector<std::int64_t>& v, std::int64_t x, std::size_t size) {
  if (v.empty()) return true;
  if (v.size() != size) return false;
  for (auto e : v)
    if (e != x) return false;
  return true;
}

// 1x1, stride 1, no padding, no groups.
bool is_pointwise(const Node& n, const Dims& w) {
  return (n.op == "Conv" || n.op == "pm.FusedConv") && no_sum(n) && w.size() == 4 && w[2] == 1 && w[3] == 1 &&
         n.attr_i("group", 1) == 1 && all_equal(n.attr_ints("strides"), 1, 2) &&
         all_equal(n.attr_ints("pads"), 0, 4) && all_equal(n.attr_ints("dilations"), 1, 2) &&
         n.attr_s("auto_pad", "NOTSET") == "NOTSET";
}

// 3x3 depthwise, pad 1, stride 1 or 2 in both directions; returns the stride or 0.
std::int64_t depthwise_stride(const Node& n, const Dims& x, const Dims& w) {
  if ((n.op != "Conv" && n.op != "pm.FusedConv") || !no_sum(n) || w.size() != 4 || x.size() != 4) return 0;
  if (w[1] != 1 || w[2] != 3 || w[3] != 3 || n.attr_i("group", 1) != x[1] || w[0] != x[1]) return 0;
  if (!all_equal(n.attr_ints("pads"), 1, 4) || !all_equal(n.attr_ints("dilations"), 1, 2)) return 0;
  if (n.attr_s("auto_pad", "NOTSET") != "NOTSET") return 0;
  const auto st = n.attr_ints("strides");
  const std::int64_t s = st.empty() ? 1 : st[0];
  if ((s != 1 && s != 2) || !all_equal(st, s, 2)) return 0;
  return s;
}

}  // namespace

void fuse_conv_depthwise(Graph& g, const PassContext& ctx) {
  if (!ctx.backend_runs || !ctx.types) return;
  auto& types = *ctx.types;
  auto uses = use_counts(g);
  const auto producer = producers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& dw = g.nodes[i];
    if (dw.inputs.size() < 2 || dw.inputs[0].empty()) continue;
    auto pit = producer.find(dw.inputs[0]);
    if (pit == producer.end() || drop[pit->second]) continue;
    const Node& pw = g.nodes[pit->second];
    if (uses[dw.inputs[0]] != 1 || pw.inputs.size() < 2 || !g.is_constant(pw.inputs[1]) ||
        !g.is_constant(dw.inputs[1]) || (dw.has_input(2) && !g.is_constant(dw.inputs[2])))
      continue;
    const std::int64_t stride =
        depthwise_stride(dw, types.at(dw.inputs[0]).shape, types.at(dw.inputs[1]).shape);
    if (!stride || !is_pointwise(pw, types.at(pw.inputs[1]).shape)) continue;
    bool graph_output = false;
    for (const auto& o : g.outputs) graph_output = graph_output || o.name == dw.inputs[0];
    if (graph_output) continue;

    Node fused = pw;
    fused.op = "pm.FusedConvDw";
    fused.inputs.resize(3);
    fused.inputs.push_back(dw.inputs[1]);
    fused.inputs.push_back(dw.has_input(2) ? dw.inputs[2] : "");
    while (!fused.inputs.empty() && fused.inputs.back().empty()) fused.inputs.pop_back();
    fused.outputs = dw.outputs;
    Attr s;
    s.kind = Attr::Kind::kInt;
    s.i = stride;
    fused.attrs["dw_stride"] = s;
    const FusedActivation a = fused_activation(dw);
    if (!a.kind.empty()) {
      fused.attrs["dw_activation"] = dw.attrs.at("activation");
      fused.attrs["dw_activation_alpha"] = dw.attrs.at("activation_alpha");
      fused.attrs["dw_activation_beta"] = dw.attrs.at("activation_beta");
    }
    std::vector<ValueType> in_t;
    for (const auto& v : fused.inputs) in_t.push_back(v.empty() ? ValueType{} : types.at(v));
    std::vector<ValueType> out_t{types.at(dw.outputs[0])};
    if (!ctx.backend_runs(fused, in_t, out_t, ctx.options)) continue;
    drop[pit->second] = true;
    dw = std::move(fused);
  }
  drop_nodes(g, drop);
}

}  // namespace pm::engine
