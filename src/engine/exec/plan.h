// A plan: the model's graph specialised for one set of concrete input shapes, passes run,
// one kernel chosen per node, buffers allocated once. Owned by one Session (one thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "graph/graph.h"

namespace pm::engine {

struct Plan {
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::vector<int> in;   // slot ids, -1 for an absent optional input
    std::vector<int> out;  // slot ids, -1 for an unused optional output
    std::string label;
  };
  Graph graph;
  std::vector<Tensor> slots;  // every value: constants, inputs, intermediates
  std::vector<Step> steps;
  std::vector<int> input_slots, output_slots;
};

std::unique_ptr<Plan> build_plan(const Graph& model, const std::map<std::string, Dims>& input_shapes,
                                 const EngineOptions& opts);

// Runs the plan on inputs already checked against the graph; returns fresh output tensors.
std::vector<Tensor> execute(Plan& plan, const std::vector<Tensor>& inputs);

}  // namespace pm::engine
