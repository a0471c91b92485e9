// A plan: the model's graph specialised for one set of concrete input shapes, passes run,
// one kernel chosen per node, layouts chosen (blocked between oneDNN kernels, reorders
// only at boundaries), intermediate buffers planned by liveness and allocated once.
// Owned by one Session (one thread).
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
    double seconds = 0;    // accumulated when profiling
    int inplace_input = -1;  // this input's buffer may become the output's (sum post-op)
  };
  Graph graph;
  std::map<std::string, Tensor> input_values;  // graph inputs the plan was specialised on
  std::vector<Tensor> slots;  // every value: constants, inputs, intermediates (views of arena)
  std::vector<Step> steps;
  std::vector<int> input_slots, output_slots;
  std::vector<Tensor> arena;  // the buffers the intermediates share
  // The choice made for each node, for Session::plan_report. Immutable once built and
  // shared, so a report outlives the plan's eviction from a Session's cache.
  std::shared_ptr<const std::vector<KernelChoice>> choices;
  std::size_t arena_bytes = 0, unplanned_bytes = 0;
  bool profile = false;
  int runs = 0;
  ~Plan();
};

// `input_values`: contents of the graph inputs that shapes depend on (copied into the plan).
std::unique_ptr<Plan> build_plan(const Graph& model, const std::map<std::string, Dims>& input_shapes,
                                 const std::map<std::string, Tensor>& input_values, const EngineOptions& opts);

// Runs the plan on inputs already checked against the graph; returns fresh output tensors.
std::vector<Tensor> execute(Plan& plan, const std::vector<Tensor>& inputs);

}  // namespace pm::engine
