#include "exec/plan.h"

#include <iostream>

#include "passes/passes.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

std::unique_ptr<Kernel> choose_kernel(const Node& n, const std::vector<ValueType>& in,
                                      const std::vector<ValueType>& out, const EngineOptions& opts) {
  std::string why;
  std::unique_ptr<Kernel> k;
  if (opts.reference) {
    why = "reference mode";
  } else if (n.op == "Conv" || n.op == "pm.FusedConv") {
    k = make_dnnl_conv(n, in, out, opts, why);
  } else {
    why = "no oneDNN kernel for " + n.op;
  }
  if (!k) k = make_ref_kernel(n);
  if (opts.verbose) {
    std::cerr << "[engine] " << n.label() << " -> " << k->name();
    if (!why.empty() && k->name().rfind("ref:", 0) == 0) std::cerr << " (" << why << ")";
    std::cerr << "\n";
  }
  return k;
}

}  // namespace

std::unique_ptr<Plan> build_plan(const Graph& model, const std::map<std::string, Dims>& input_shapes,
                                 const EngineOptions& opts) {
  auto plan = std::make_unique<Plan>();
  Graph& g = plan->graph;
  g = model;
  std::map<std::string, ValueType> types;
  specialize_shapes(g, input_shapes, types);
  validate(g, "specialize_shapes");
  PassContext ctx{opts, &types};
  run_pipeline(g, plan_passes(opts), ctx);

  std::map<std::string, int> slot_of;
  auto slot = [&](const std::string& name) {
    auto it = slot_of.find(name);
    if (it != slot_of.end()) return it->second;
    const int id = static_cast<int>(plan->slots.size());
    slot_of[name] = id;
    plan->slots.emplace_back();
    return id;
  };
  for (const auto& [name, t] : g.constants) plan->slots[static_cast<std::size_t>(slot(name))] = t;
  for (const auto& in : g.inputs) plan->input_slots.push_back(slot(in.name));
  for (const Node& n : g.nodes) {
    Plan::Step step;
    step.label = n.label();
    std::vector<ValueType> in_t, out_t;
    for (const auto& v : n.inputs) {
      step.in.push_back(v.empty() ? -1 : slot(v));
      in_t.push_back(v.empty() ? ValueType{} : types.at(v));
    }
    while (!step.in.empty() && step.in.back() < 0) step.in.pop_back();
    for (const auto& v : n.outputs) {
      if (v.empty()) {
        step.out.push_back(-1);
        out_t.push_back({});
        continue;
      }
      const int id = slot(v);
      const ValueType& t = types.at(v);
      plan->slots[static_cast<std::size_t>(id)] = Tensor(t.dtype, t.shape);
      step.out.push_back(id);
      out_t.push_back(t);
    }
    step.kernel = choose_kernel(n, in_t, out_t, opts);
    plan->steps.push_back(std::move(step));
  }
  for (const auto& out : g.outputs) plan->output_slots.push_back(slot(out.name));
  return plan;
}

std::vector<Tensor> execute(Plan& plan, const std::vector<Tensor>& inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    plan.slots[static_cast<std::size_t>(plan.input_slots[i])] = inputs[i];
  std::vector<const Tensor*> in;
  std::vector<Tensor> out;
  for (auto& step : plan.steps) {
    in.clear();
    out.clear();
    for (int s : step.in) in.push_back(s < 0 ? nullptr : &plan.slots[static_cast<std::size_t>(s)]);
    for (int s : step.out) out.push_back(s < 0 ? Tensor() : plan.slots[static_cast<std::size_t>(s)]);
    try {
      step.kernel->run(in, out);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(step.label + " (" + step.kernel->name() + ") failed: " + e.what());
    }
  }
  std::vector<Tensor> result;
  for (int s : plan.output_slots) result.push_back(plan.slots[static_cast<std::size_t>(s)].clone());
  // Do not keep the caller's input buffers alive past the call.
  for (int s : plan.input_slots) plan.slots[static_cast<std::size_t>(s)] = Tensor();
  return result;
}

}  // namespace pm::engine
