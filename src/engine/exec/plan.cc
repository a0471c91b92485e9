#include "exec/plan.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "exec/dnnl/dnnl_kernels.h"
#include "passes/passes.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

// A slot's contents: plain row-major `type`, or a oneDNN layout (blocked, maybe bf16).
struct SlotInfo {
  ValueType type;
  std::optional<dnnl::memory::desc> layout;  // nullopt = plain
  std::size_t bytes = 0;
  bool planned = false;  // intermediate: lives in the arena
  int alias = -1;        // a view (Reshape, Flatten, ...) of this slot's buffer
};

class Builder {
 public:
  explicit Builder(Plan& plan) : plan_(plan) {}

  int slot(const std::string& name, const ValueType& t) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    const int id = add_slot(t, std::nullopt);
    by_name_[name] = id;
    return id;
  }
  int add_slot(const ValueType& t, std::optional<dnnl::memory::desc> layout) {
    SlotInfo s;
    s.type = t;
    // A oneDNN layout that is just the plain one is recorded as plain, so that reference
    // kernels read it directly.
    if (layout && !t.shape.empty() && *layout == plain_desc(t.shape, t.dtype)) layout.reset();
    s.layout = std::move(layout);
    s.bytes = s.layout ? s.layout->get_size() : static_cast<std::size_t>(dims_product(t.shape)) * dtype_size(t.dtype);
    info_.push_back(s);
    plan_.slots.emplace_back();
    return static_cast<int>(info_.size()) - 1;
  }
  SlotInfo& info(int id) { return info_[static_cast<std::size_t>(id)]; }

  // The slot holding `id`'s value in layout `want` (nullopt = plain), adding a reorder
  // step the first time it is needed.
  int in_layout(int id, const std::optional<dnnl::memory::desc>& want) {
    const SlotInfo& s = info(id);
    auto same = [&](const std::optional<dnnl::memory::desc>& a, const std::optional<dnnl::memory::desc>& b) {
      if (!a && !b) return true;
      const dnnl::memory::desc pa = a ? *a : plain_desc(s.type.shape, s.type.dtype);
      const dnnl::memory::desc pb = b ? *b : plain_desc(s.type.shape, s.type.dtype);
      return pa == pb;
    };
    if (same(s.layout, want)) return id;
    for (const auto& [from, layout, to] : converted_)
      if (from == id && same(layout, want)) return to;
    const dnnl::memory::desc from_md = s.layout ? *s.layout : plain_desc(s.type.shape, s.type.dtype);
    const dnnl::memory::desc to_md = want ? *want : plain_desc(s.type.shape, s.type.dtype);
    const int to = add_slot(s.type, want);
    info(to).planned = true;
    Plan::Step step;
    step.kernel = make_dnnl_reorder(from_md, to_md);
    step.in = {id};
    step.out = {to};
    step.label = "reorder";
    plan_.steps.push_back(std::move(step));
    converted_.emplace_back(id, want, to);
    return to;
  }

  std::map<std::string, int> by_name_;

 private:
  Plan& plan_;
  std::vector<SlotInfo> info_;
  std::vector<std::tuple<int, std::optional<dnnl::memory::desc>, int>> converted_;
};

// Records the choice for a node (Session::plan_report) and logs it when verbose, in one
// place so that the report and the log cannot disagree. `k` is null for a view.
void note_choice(const EngineOptions& opts, const Node& n, const Kernel* k, KernelBackend backend,
                 const std::string& why, std::vector<KernelChoice>& choices) {
  KernelChoice c;
  c.node = n.name;
  c.op = n.op;
  c.backend = backend;
  c.implementation = k ? k->implementation() : "view";
  if (backend == KernelBackend::kReference) c.why = why;
  if (opts.verbose) {
    std::cerr << "[engine] " << n.label() << " -> " << (k ? k->name() : "view (no copy)");
    if (!c.why.empty()) std::cerr << " (" << c.why << ")";
    std::cerr << "\n";
  }
  choices.push_back(std::move(c));
}

// Liveness: each intermediate slot gets a buffer from a pool, reused once its last
// reader has run. Best fit by size; outputs are placed before inputs are released, so a
// step never reads and writes the same buffer.
void plan_memory(Plan& plan, Builder& b) {
  const int n_slots = static_cast<int>(plan.slots.size());
  auto root = [&](int s) {
    while (b.info(s).alias >= 0) s = b.info(s).alias;
    return s;
  };
  std::vector<int> last_use(static_cast<std::size_t>(n_slots), -1);
  auto use = [&](int s, int i) {
    auto& l = last_use[static_cast<std::size_t>(root(s))];
    l = std::max(l, i);
  };
  for (int i = 0; i < static_cast<int>(plan.steps.size()); ++i)
    for (int s : plan.steps[static_cast<std::size_t>(i)].in)
      if (s >= 0) use(s, i);
  for (int s : plan.output_slots) use(s, static_cast<int>(plan.steps.size()));
  struct Block {
    std::size_t bytes;
    bool free;
  };
  std::vector<Block> blocks;
  std::vector<int> block_of(static_cast<std::size_t>(n_slots), -1);
  auto blk = [&](int k) -> Block& { return blocks[static_cast<std::size_t>(k)]; };
  for (int i = 0; i < static_cast<int>(plan.steps.size()); ++i) {
    const auto& step = plan.steps[static_cast<std::size_t>(i)];
    for (std::size_t o = 0; o < step.out.size(); ++o) {
      const int s = step.out[o];
      if (s < 0 || !b.info(s).planned) continue;
      const std::size_t need = std::max<std::size_t>(b.info(s).bytes, 64);
      // In place: the residual of a sum post-op dies here, so the output takes its buffer.
      if (o == 0 && step.inplace_input >= 0) {
        const int r = root(step.in[static_cast<std::size_t>(step.inplace_input)]);
        const int rb = block_of[static_cast<std::size_t>(r)];
        if (rb >= 0 && last_use[static_cast<std::size_t>(r)] == i && blk(rb).bytes >= need) {
          block_of[static_cast<std::size_t>(s)] = rb;
          last_use[static_cast<std::size_t>(r)] = -2;  // the buffer now belongs to s
          if (last_use[static_cast<std::size_t>(s)] < 0) last_use[static_cast<std::size_t>(s)] = i;
          continue;
        }
      }
      int best = -1;
      for (int k = 0; k < static_cast<int>(blocks.size()); ++k)
        if (blk(k).free && blk(k).bytes >= need && (best < 0 || blk(k).bytes < blk(best).bytes)) best = k;
      if (best < 0) {
        // Grow the largest free block rather than adding one, when any is free.
        for (int k = 0; k < static_cast<int>(blocks.size()); ++k)
          if (blk(k).free && (best < 0 || blk(k).bytes > blk(best).bytes)) best = k;
        if (best < 0) {
          blocks.push_back({need, false});
          best = static_cast<int>(blocks.size()) - 1;
        }
        blk(best).bytes = std::max(blk(best).bytes, need);
      }
      blk(best).free = false;
      block_of[static_cast<std::size_t>(s)] = best;
      // An output nobody reads is released right after its step.
      if (last_use[static_cast<std::size_t>(s)] < 0) last_use[static_cast<std::size_t>(s)] = i;
    }
    for (int s = 0; s < n_slots; ++s)
      if (last_use[static_cast<std::size_t>(s)] == i && block_of[static_cast<std::size_t>(s)] >= 0)
        blk(block_of[static_cast<std::size_t>(s)]).free = true;
  }
  for (const auto& bl : blocks) {
    plan.arena.emplace_back(DType::kU8, Dims{static_cast<std::int64_t>(bl.bytes)});
    plan.arena_bytes += bl.bytes;
  }
  for (int s = 0; s < n_slots; ++s) {
    const SlotInfo& si = b.info(s);
    const int k = block_of[static_cast<std::size_t>(root(s))];
    if (k < 0 || (si.alias < 0 && !si.planned)) continue;
    if (si.alias < 0) plan.unplanned_bytes += si.bytes;
    void* p = plan.arena[static_cast<std::size_t>(k)].data();
    plan.slots[static_cast<std::size_t>(s)] =
        si.layout ? Tensor::borrow(DType::kU8, {static_cast<std::int64_t>(si.bytes)}, p)
                  : Tensor::borrow(si.type.dtype, si.type.shape, p);
  }
}

}  // namespace

Plan::~Plan() {
  if (!profile || runs == 0) return;
  std::map<std::string, double> by_kernel;
  double total = 0;
  for (const auto& s : steps) {
    by_kernel[s.kernel->name()] += s.seconds;
    total += s.seconds;
  }
  std::cerr << "[engine] profile over " << runs << " runs, " << total / runs * 1e3 << " ms per run\n";
  for (const auto& [k, t] : by_kernel)
    std::cerr << "[engine]   " << k << ": " << t / runs * 1e3 << " ms (" << 100.0 * t / total << "%)\n";
  // PM_ENGINE_PROFILE=steps: also every step, costliest first (which layer, not just which
  // kernel family).
  const char* how = std::getenv("PM_ENGINE_PROFILE");
  if (!how || std::string(how) != "steps") return;
  std::vector<const Step*> order;
  for (const auto& s : steps) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const Step* a, const Step* b) { return a->seconds > b->seconds; });
  for (const Step* s : order)
    std::cerr << "[engine]     " << s->seconds / runs * 1e3 << " ms  " << s->label << "  " << s->kernel->name() << "\n";
}

namespace {
std::unique_ptr<Plan> build_plan_impl(const Graph& model, const std::map<std::string, Dims>& input_shapes,
                                      const std::map<std::string, Tensor>& input_values, const EngineOptions& opts);
}  // namespace

std::unique_ptr<Plan> build_plan(const Graph& model, const std::map<std::string, Dims>& input_shapes,
                                 const std::map<std::string, Tensor>& input_values, const EngineOptions& opts) {
  try {
    return build_plan_impl(model, input_shapes, input_values, opts);
  } catch (const dnnl::error& e) {
    throw Error(std::string("building the execution plan failed in oneDNN: ") + e.what());
  }
}

namespace {
std::unique_ptr<Plan> build_plan_impl(const Graph& model, const std::map<std::string, Dims>& input_shapes,
                                      const std::map<std::string, Tensor>& input_values, const EngineOptions& opts) {
  auto plan = std::make_unique<Plan>();
  plan->profile = std::getenv("PM_ENGINE_PROFILE") != nullptr;
  Graph& g = plan->graph;
  g = model;
  std::map<std::string, ValueType> types;
  for (const auto& [name, t] : input_values) plan->input_values[name] = t.clone();
  specialize_shapes(g, input_shapes, types, &plan->input_values);
  validate(g, "specialize_shapes");
  PassContext ctx{opts, &types, dnnl_runs_well};
  run_pipeline(g, plan_passes(opts), ctx);

  Builder b(*plan);
  std::vector<KernelChoice> choices;
  for (const auto& [name, t] : g.constants)
    plan->slots[static_cast<std::size_t>(b.slot(name, types.at(name)))] = t;
  for (const auto& in : g.inputs) plan->input_slots.push_back(b.slot(in.name, types.at(in.name)));
  for (const Node& n : g.nodes) {
    std::vector<ValueType> in_t, out_t;
    for (const auto& v : n.inputs) in_t.push_back(v.empty() ? ValueType{} : types.at(v));
    for (const auto& v : n.outputs) out_t.push_back(v.empty() ? ValueType{} : types.at(v));
    // Reshape-like ops on a plain intermediate cost nothing: the output is a view of the
    // input's buffer with another shape (liveness extends the buffer's life).
    if (find_op(n.op)->is_view && n.outputs.size() == 1 && !n.inputs.empty() && !n.inputs[0].empty()) {
      const int src = b.slot(n.inputs[0], in_t[0]);
      if ((b.info(src).planned || b.info(src).alias >= 0) && !b.info(src).layout && !b.by_name_.count(n.outputs[0])) {
        const int id = b.add_slot(out_t[0], std::nullopt);
        b.info(id).alias = src;
        b.by_name_[n.outputs[0]] = id;
        note_choice(opts, n, nullptr, KernelBackend::kView, "", choices);
        continue;
      }
    }
    std::string why;
    std::unique_ptr<DnnlKernel> dk;
    if (opts.reference) {
      why = "reference mode";
    } else {
      std::vector<Layout> layouts;
      for (const auto& v : n.inputs) layouts.push_back(v.empty() ? Layout{} : b.info(b.slot(v, types.at(v))).layout);
      dk = make_dnnl_kernel(n, in_t, layouts, out_t, opts, why);
    }

    Plan::Step step;
    step.label = n.label();
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) {
        step.in.push_back(-1);
        continue;
      }
      const int id = b.slot(n.inputs[i], in_t[i]);
      // Reference kernels read plain tensors; oneDNN kernels say which layout they read.
      const Layout want = dk && i < dk->in_mds.size() ? dk->in_mds[i] : Layout{};
      step.in.push_back(b.info(id).layout || want ? b.in_layout(id, want) : id);
    }
    while (!step.in.empty() && step.in.back() < 0) step.in.pop_back();
    for (std::size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) {
        step.out.push_back(-1);
        continue;
      }
      PM_CHECK(!b.by_name_.count(n.outputs[i]), "value '" + n.outputs[i] + "' produced twice");
      const int id = b.add_slot(out_t[i], dk && i == 0 ? Layout(dk->dst_md) : std::nullopt);
      b.by_name_[n.outputs[i]] = id;
      b.info(id).planned = true;
      step.out.push_back(id);
    }
    if (dk && n.op == "pm.FusedConv" && n.has_input(3)) step.inplace_input = 3;
    if (dk && n.op == "pm.QConv" && n.has_input(4)) step.inplace_input = 4;
    const KernelBackend backend = dk ? KernelBackend::kOneDnn : KernelBackend::kReference;
    if (dk) step.kernel = std::move(dk);
    else step.kernel = make_ref_kernel(n);
    note_choice(opts, n, step.kernel.get(), backend, why, choices);
    plan->steps.push_back(std::move(step));
  }
  for (const auto& out : g.outputs) {
    const int id = b.by_name_.at(out.name);
    plan->output_slots.push_back(b.in_layout(id, std::nullopt));
  }
  plan_memory(*plan, b);
  plan->choices = std::make_shared<const std::vector<KernelChoice>>(std::move(choices));
  if (opts.verbose)
    std::cerr << "[engine] plan: " << plan->steps.size() << " steps, " << plan->arena.size() << " buffers, "
              << plan->arena_bytes << " bytes (" << plan->unplanned_bytes << " without reuse)\n";
  return plan;
}
}  // namespace

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
    const auto t0 = plan.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    try {
      step.kernel->run(in, out);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(step.label + " (" + step.kernel->name() + ") failed: " + e.what());
    }
    if (plan.profile) step.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  ++plan.runs;
  std::vector<Tensor> result;
  for (int s : plan.output_slots) result.push_back(plan.slots[static_cast<std::size_t>(s)].clone());
  // Do not keep the caller's input buffers alive past the call.
  for (int s : plan.input_slots) plan.slots[static_cast<std::size_t>(s)] = Tensor();
  return result;
}

}  // namespace pm::engine
