// Model::load and the immutable loaded model.
#include <algorithm>
#include <iostream>

#include "model_impl.h"
#include "onnx/loader.h"
#include "ops/op_registry.h"
#include "passes/passes.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

std::shared_ptr<const Model> finish_load(Graph graph, const std::string& path, EngineOptions opts) {
  auto m = std::make_shared<ModelImpl>();
  m->graph = std::move(graph);
  for (const auto& [name, dims] : opts.input_shapes) {
    auto it = std::find_if(m->graph.inputs.begin(), m->graph.inputs.end(),
                           [&](const ValueInfo& v) { return v.name == name; });
    if (it == m->graph.inputs.end()) throw Error(path + ": no graph input '" + name + "' to give a shape to");
    if (it->shape.size() != dims.size())
      throw Error(path + ": input '" + name + "' has rank " + std::to_string(it->shape.size()) + ", the shape " +
                  dims_str(dims) + " given for it has " + std::to_string(dims.size()));
    it->shape = dims;
  }
  if (opts.precision == Precision::kBF16 && !engine_has_bf16()) {
    // Emulated bf16 would be slower than fp32 and less accurate: run fp32 instead.
    std::cerr << "[engine] warning: this CPU has no AVX512_BF16/AMX; running " << path << " in fp32\n";
    opts.precision = Precision::kF32;
  }
  if (opts.precision == Precision::kInt8 && !engine_has_int8()) {
    std::cerr << "[engine] warning: this CPU has no VNNI (AVX512_VNNI, AVX_VNNI, AMX); running " << path
              << " as written, in fp32\n";
    opts.precision = Precision::kF32;
  }
  m->opts = opts;
  for (const auto& n : m->graph.nodes) ++m->loaded_op_counts[n.op];
  for (const auto& [name, t] : m->graph.constants) m->parameters += t.numel();
  PassContext ctx{opts, nullptr};
  run_pipeline(m->graph, load_passes(opts), ctx);
  for (const auto& in : m->graph.inputs) {
    bool needed = false;
    for (const auto& n : m->graph.nodes)
      for (std::size_t i = 0; i < n.inputs.size(); ++i)
        if (n.inputs[i] == in.name && input_needs_value(n.op, i)) needed = true;
    m->value_inputs.push_back(needed);
  }
  if (opts.verbose) std::cerr << "[engine] loaded " << path << "\n" << dump(m->graph);
  return m;
}

}  // namespace

std::shared_ptr<const Model> Model::load(const std::string& path, EngineOptions opts) {
  return finish_load(load_onnx(path), path, std::move(opts));
}

std::shared_ptr<const Model> Model::load_bytes(const std::string& bytes, const std::string& base_dir,
                                               const std::string& what, EngineOptions opts) {
  return finish_load(load_onnx_bytes(bytes, base_dir, what), what, std::move(opts));
}

ModelSummary ModelImpl::summary(const std::map<std::string, Dims>& input_shapes) const {
  ModelSummary s;
  s.op_counts = loaded_op_counts;
  s.parameters = parameters;
  s.opset = graph.opset;
  std::map<std::string, Dims> shapes = input_shapes;
  for (const auto& in : graph.inputs) {
    if (shapes.count(in.name)) continue;
    for (auto d : in.shape)
      if (d < 0) return s;  // dynamic and not given: MACs unknown
    shapes[in.name] = in.shape;
  }
  Graph g = graph;
  std::map<std::string, ValueType> types;
  specialize_shapes(g, shapes, types);
  s.macs = count_macs(g, types);
  return s;
}

}  // namespace pm::engine
