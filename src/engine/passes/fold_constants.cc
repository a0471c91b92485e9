// Constant folding, identity removal, dead-node removal and shape specialisation.
#include <set>

#include "ops/op_util.h"
#include "passes/passes.h"

namespace pm::engine {

namespace {

constexpr std::int64_t kMaxFoldGrowthBytes = std::int64_t{64} << 20;

// Evaluates `n` on the reference kernel when every given input is known. Returns false
// (and leaves the graph alone) otherwise.
bool try_fold(Graph& g, const Node& n, const std::vector<ValueType>& in_types) {
  const OpDef* def = find_op(n.op);
  std::vector<const Tensor*> ins;
  for (std::size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i].empty()) {
      ins.push_back(nullptr);
      continue;
    }
    if (!in_types[i].value) return false;
    ins.push_back(in_types[i].value);
  }
  // Inputs absent at the end of the list are simply not passed.
  while (!ins.empty() && ins.back() == nullptr) ins.pop_back();
  auto out_types = infer_op(n, in_types);
  // Folding may not amplify: a few bytes of Range, Tile, Expand or ConstantOfShape
  // arguments could otherwise ask for gigabytes at load (fuzzing: a 216-byte model
  // whose Range wanted 14 GB). Real models fold weights into tensors of their own size.
  std::int64_t in_bytes = 0, out_bytes = 0;
  for (const Tensor* t : ins)
    if (t) in_bytes += static_cast<std::int64_t>(t->nbytes());
  for (const auto& t : out_types)
    out_bytes += checked_mul(dims_product(t.shape), static_cast<std::int64_t>(dtype_size(t.dtype)),
                             "folded constant bytes");
  if (out_bytes > in_bytes + kMaxFoldGrowthBytes)
    throw Error(n.label() + ": folding it makes " + std::to_string(out_bytes) +
                " bytes of constants from " + std::to_string(in_bytes) +
                " bytes of inputs; pixelmill refuses constants that grow more than " +
                std::to_string(kMaxFoldGrowthBytes >> 20) + " MiB past their inputs");
  std::vector<Tensor> outs;
  for (const auto& t : out_types) outs.emplace_back(t.dtype, t.shape);
  def->ref(n, ins, outs);
  for (std::size_t i = 0; i < n.outputs.size() && i < outs.size(); ++i)
    if (!n.outputs[i].empty()) g.constants[n.outputs[i]] = outs[i];
  return true;
}

ValueType type_of_constant(const Tensor& t) { return ValueType{t.dtype(), t.shape(), &t}; }

}  // namespace

void fold_constants(Graph& g, const PassContext&) {
  std::vector<Node> kept;
  for (const Node& n : g.nodes) {
    bool all_const = !n.inputs.empty();
    std::vector<ValueType> types;
    for (const auto& v : n.inputs) {
      if (v.empty()) {
        types.push_back({});
        continue;
      }
      const Tensor* t = g.constant(v);
      if (!t) {
        all_const = false;
        break;
      }
      types.push_back(type_of_constant(*t));
    }
    if (all_const && try_fold(g, n, types)) continue;
    kept.push_back(n);
  }
  g.nodes = std::move(kept);
}

void remove_identities(Graph& g, const PassContext&) {
  std::set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);
  std::map<std::string, std::string> rename;
  std::vector<Node> kept;
  for (Node n : g.nodes) {
    for (auto& v : n.inputs) {
      auto it = rename.find(v);
      if (it != rename.end()) v = it->second;
    }
    const bool pass_through = n.op == "Identity" || (n.op == "Dropout" && (n.outputs.size() < 2 || n.outputs[1].empty()));
    if (pass_through && !graph_outputs.count(n.outputs[0])) {
      rename[n.outputs[0]] = n.inputs[0];
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
}

void remove_dead_nodes(Graph& g, const PassContext&) {
  // Walk backwards from the outputs, keeping nodes that something needs.
  std::set<std::string> needed;
  for (const auto& o : g.outputs) needed.insert(o.name);
  std::vector<bool> keep(g.nodes.size(), false);
  for (std::size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    for (const auto& v : n.outputs)
      if (needed.count(v)) keep[i] = true;
    if (keep[i])
      for (const auto& v : n.inputs)
        if (!v.empty()) needed.insert(v);
  }
  std::vector<Node> kept;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  std::set<std::string> inputs;
  for (const auto& in : g.inputs) inputs.insert(in.name);
  for (auto it = g.constants.begin(); it != g.constants.end();) {
    if (!needed.count(it->first)) it = g.constants.erase(it);
    else ++it;
  }
}

void specialize_shapes(Graph& g, const std::map<std::string, Dims>& input_shapes,
                       std::map<std::string, ValueType>& types, const std::map<std::string, Tensor>* input_values) {
  types.clear();
  for (const auto& in : g.inputs) {
    auto it = input_shapes.find(in.name);
    PM_CHECK(it != input_shapes.end(), "no shape given for input '" + in.name + "'");
    types[in.name] = ValueType{in.dtype, it->second, nullptr};
    if (input_values)
      if (auto v = input_values->find(in.name); v != input_values->end()) types[in.name].value = &v->second;
  }
  for (const auto& [name, t] : g.constants) types[name] = type_of_constant(t);
  std::vector<Node> kept;
  for (const Node& n : g.nodes) {
    std::vector<ValueType> in;
    bool all_known = true;
    for (const auto& v : n.inputs) {
      if (v.empty()) {
        in.push_back({});
        continue;
      }
      in.push_back(types.at(v));
      if (!in.back().value) all_known = false;
    }
    // Shape only reads the input's shape, which is now concrete.
    if (n.op == "Shape") all_known = true;
    const bool small = n.op == "Shape" || n.op == "Gather" || n.op == "Concat" || n.op == "Unsqueeze" ||
                       n.op == "Squeeze" || n.op == "Slice" || n.op == "Cast" || in.empty() ||
                       in[0].dtype == DType::kI64;
    if (all_known && small && !in.empty()) {
      if (n.op == "Shape") {
        Tensor s(DType::kI64, {static_cast<std::int64_t>(in[0].shape.size())});
        Tensor dummy = Tensor::borrow(in[0].dtype, in[0].shape, nullptr);
        const OpDef* def = find_op("Shape");
        auto ot = def->infer(n, in);
        std::vector<Tensor> outs{Tensor(DType::kI64, ot[0].shape)};
        def->ref(n, {&dummy}, outs);
        g.constants[n.outputs[0]] = outs[0];
      } else if (!try_fold(g, n, in)) {
        kept.push_back(n);
        continue;
      }
      for (const auto& v : n.outputs)
        if (!v.empty()) types[v] = type_of_constant(g.constants.at(v));
      continue;
    }
    auto out = infer_op(n, in);
    for (std::size_t i = 0; i < n.outputs.size() && i < out.size(); ++i)
      if (!n.outputs[i].empty()) types[n.outputs[i]] = out[i];
    kept.push_back(n);
  }
  g.nodes = std::move(kept);
}

}  // namespace pm::engine
