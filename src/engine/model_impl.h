// The concrete Model: the graph after the load-time passes, shared read-only by Sessions.
#pragma once

#include <map>

#include "graph/graph.h"
#include "pixelmill/engine.h"

namespace pm::engine {

class ModelImpl final : public Model {
 public:
  const std::vector<ValueInfo>& inputs() const override { return graph.inputs; }
  const std::vector<ValueInfo>& outputs() const override { return graph.outputs; }
  ModelSummary summary(const std::map<std::string, Dims>& input_shapes) const override;
  const EngineOptions& options() const override { return opts; }

  Graph graph;
  EngineOptions opts;
  std::map<std::string, int> loaded_op_counts;
  std::int64_t parameters = 0;
  // Per graph input: its contents decide shapes (a runtime shape/axes/scales input), so
  // they are part of the plan key.
  std::vector<bool> value_inputs;
};

}  // namespace pm::engine
