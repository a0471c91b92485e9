// Graph passes. Every pass has the same signature, runs in one ordered pipeline, and the
// graph is validated after each (a bug is caught at the pass that made it).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op_registry.h"

namespace pm::engine {

struct PassContext {
  EngineOptions options;
  // Concrete shapes of every value, when the pipeline runs for a plan (empty at load).
  std::map<std::string, ValueType>* types = nullptr;
  // Whether the execution backend runs a fused node well (set when planning); a pass that
  // makes a node only a backend kernel can run asks it first. Null: never fuse such nodes.
  bool (*backend_runs)(const Node& n, const std::vector<ValueType>& in, const std::vector<ValueType>& out,
                       const EngineOptions& opts) = nullptr;
};

using PassFn = void (*)(Graph& g, const PassContext& ctx);
struct Pass {
  const char* name;
  PassFn fn;
};

// Load time (shape-independent).
void fold_constants(Graph& g, const PassContext& ctx);   // nodes whose inputs are all constant
void remove_identities(Graph& g, const PassContext& ctx);  // Identity, Dropout
void fold_batchnorm(Graph& g, const PassContext& ctx);   // Conv -> BatchNormalization
void remove_dead_nodes(Graph& g, const PassContext& ctx);  // outputs nobody uses
void fuse_qdq_conv(Graph& g, const PassContext& ctx);  // Q/DQ around Conv -> pm.QConv (int8)
void fuse_qdq_matmul(Graph& g, const PassContext& ctx);  // Q/DQ around Gemm/MatMul -> pm.QGemm (int8)
// Plan time (needs ctx.types).
void fuse_conv_sum(Graph& g, const PassContext& ctx);         // Conv -> Add(residual)
void fuse_conv_activation(Graph& g, const PassContext& ctx);  // Conv -> Relu/Clip/...
void fuse_conv_swish(Graph& g, const PassContext& ctx);  // Conv -> SiLU / HardSwish written as several ops
void fuse_input_normalization(Graph& g, const PassContext& ctx);  // Cast/Sub/Div/Transpose
void fuse_conv_depthwise(Graph& g, const PassContext& ctx);  // Conv1x1 -> depthwise Conv3x3
// pm.QConv -> pm.QConv(s) quantising alike: the producer writes uint8/int8 (int8 only)
void quantize_between_qconvs(Graph& g, const PassContext& ctx);

void run_pipeline(Graph& g, const std::vector<Pass>& passes, const PassContext& ctx);
std::vector<Pass> load_passes(const EngineOptions& opts);
std::vector<Pass> plan_passes(const EngineOptions& opts);

// Infers the dtype and shape of every value for concrete input shapes, folding nodes whose
// inputs are all known into constants as it goes (Shape of a concrete tensor, shape
// arithmetic). Fills `types` (values point into g.constants).
// `input_values` gives the contents of graph inputs that shapes depend on (see
// input_needs_value); they must outlive `types`.
void specialize_shapes(Graph& g, const std::map<std::string, Dims>& input_shapes,
                       std::map<std::string, ValueType>& types,
                       const std::map<std::string, Tensor>* input_values = nullptr);

// Multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul in a specialised graph.
std::int64_t count_macs(const Graph& g, const std::map<std::string, ValueType>& types);

}  // namespace pm::engine
