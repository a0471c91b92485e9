#include <iostream>

#include "passes/passes.h"

namespace pm::engine {

void run_pipeline(Graph& g, const std::vector<Pass>& passes, const PassContext& ctx) {
  for (const Pass& p : passes) {
    const std::size_t before = g.nodes.size();
    p.fn(g, ctx);
    validate(g, std::string("pass ") + p.name);
    if (ctx.options.verbose)
      std::cerr << "[engine] pass " << p.name << ": " << before << " -> " << g.nodes.size() << " nodes\n";
  }
}

std::vector<Pass> load_passes(const EngineOptions& opts) {
  std::vector<Pass> p;
  // int8: before fold_constants turns the weights' DequantizeLinear into float32.
  if (opts.precision == Precision::kInt8 && !opts.reference)
    p.insert(p.end(), {{"fuse_qdq_conv", fuse_qdq_conv}, {"fuse_qdq_matmul", fuse_qdq_matmul}});
  p.insert(p.end(), {{"fold_constants", fold_constants}, {"remove_identities", remove_identities}});
  // The reference mode runs the graph as written (BN folding changes rounding).
  if (!opts.reference) p.push_back({"fold_batchnorm", fold_batchnorm});
  p.push_back({"remove_dead_nodes", remove_dead_nodes});
  return p;
}

std::vector<Pass> plan_passes(const EngineOptions& opts) {
  if (opts.reference) return {};
  return {{"fuse_input_normalization", fuse_input_normalization},
          {"fuse_conv_sum", fuse_conv_sum}, {"fuse_conv_activation", fuse_conv_activation},
          {"fuse_conv_swish", fuse_conv_swish},
          {"fuse_conv_depthwise", fuse_conv_depthwise},
          {"quantize_between_qconvs", quantize_between_qconvs},
          {"remove_dead_nodes", remove_dead_nodes}};
}

}  // namespace pm::engine
