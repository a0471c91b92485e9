// pm.QConv -> pm.QConv with no float32 tensor in between: when every reader of a QConv's
// output is a pm.QConv that quantises it as its input 0 with the same scale, zero point and
// type, the producer writes that quantised tensor (attributes y_scale, y_zero_point,
// y_signed; the value becomes uint8/int8) and the readers take it as it is
// (x_quantized = 1). The float32 tensor is never written, and the readers' quantising
// reorders go away; the value is the same, bit for bit on the reference kernels: q(y) is
// computed once by the producer instead of by each reader. MobileNetV2's inverted residuals
// are the case it is for: 1x1 expand -> 3x3 depthwise -> 1x1 project pass the expanded
// tensors (six times the block's width) in uint8.
// Not where the producer has a fused residual (oneDNN's sum post-op would read the
// quantised output as its addend), nor for graph outputs.
#include <set>
#include <utility>

#include "passes/passes.h"
#include "passes/qdq_match.h"

namespace pm::engine {

void quantize_between_qconvs(Graph& g, const PassContext& ctx) {
  if (!ctx.types) return;
  // Each value's readers: (node, input index).
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> readers;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    for (std::size_t k = 0; k < g.nodes[i].inputs.size(); ++k)
      if (!g.nodes[i].inputs[k].empty()) readers[g.nodes[i].inputs[k]].emplace_back(i, k);
  std::set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);

  for (Node& a : g.nodes) {
    if (a.op != "pm.QConv" || a.has_input(4) || a.has_attr("y_scale") || a.outputs.empty()) continue;
    const std::string& y = a.outputs[0];
    if (graph_outputs.count(y) || ctx.types->at(y).dtype != DType::kF32) continue;
    auto it = readers.find(y);
    if (it == readers.end()) continue;
    const Node* first = nullptr;
    bool ok = true;
    for (const auto& [i, k] : it->second) {
      const Node& b = g.nodes[i];
      if (b.op != "pm.QConv" || k != 0 || b.attr_i("x_quantized", 0) != 0) {
        ok = false;
        break;
      }
      if (!first) {
        first = &b;
      } else if (b.attr_f("x_scale", 0.f) != first->attr_f("x_scale", 0.f) ||
                 b.attr_i("x_zero_point", 0) != first->attr_i("x_zero_point", 0) ||
                 b.attr_i("x_signed", 0) != first->attr_i("x_signed", 0)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    const float scale = first->attr_f("x_scale", 0.f);
    const std::int64_t zero = first->attr_i("x_zero_point", 0), is_signed = first->attr_i("x_signed", 0);
    a.attrs["y_scale"] = float_attr(scale);
    a.attrs["y_zero_point"] = int_attr(zero);
    a.attrs["y_signed"] = int_attr(is_signed);
    for (const auto& [i, k] : it->second) g.nodes[i].attrs["x_quantized"] = int_attr(1);
    ctx.types->at(y).dtype = is_signed ? DType::kI8 : DType::kU8;
  }
}

}  // namespace pm::engine
