// Session: per-thread execution context with plans cached per set of input shapes.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <iostream>

#include "exec/micro_batch.h"
#include "exec/plan.h"
#include "model_impl.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

// Plans kept per cache; the least recently used goes first. Each holds its buffers, so a
// stream of ever-new shapes must not keep them all.
constexpr std::size_t kMaxPlans = 8;

struct PlanCache {
  std::map<std::string, std::unique_ptr<Plan>> plans;  // key: shapes (+ shape-input values)
  std::map<std::string, std::uint64_t> last_used;
  std::uint64_t clock = 0;

  Plan& get(const ModelImpl& model, const std::string& key, const std::map<std::string, Dims>& shapes,
            const std::map<std::string, Tensor>& values) {
    auto it = plans.find(key);
    if (it == plans.end()) {
      if (plans.size() >= kMaxPlans) {
        auto oldest = std::min_element(last_used.begin(), last_used.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
        plans.erase(oldest->first);
        last_used.erase(oldest);
      }
      it = plans.emplace(key, build_plan(model.graph, shapes, values, model.opts)).first;
    }
    last_used[key] = ++clock;
    return *it->second;
  }
};

struct Chunk {
  std::int64_t begin = 0, rows = 0;
  std::vector<Tensor> out;
  std::shared_ptr<const std::vector<KernelChoice>> choices;  // of the plan that ran it
};

}  // namespace

struct Session::Impl {
  std::shared_ptr<const ModelImpl> model;
  PlanCache plans;
  // One cache per worker of a chunk-parallel run: their plans are built inside the worker,
  // for one OpenMP thread each.
  std::vector<PlanCache> worker_plans;
  std::map<std::string, BatchSplit> splits;  // key: shapes of the whole call
  // What the most recent run() that returned used, for plan_report(); null before one has.
  std::shared_ptr<const std::vector<KernelChoice>> last_choices;
  BatchSplit last_split;

  // `choices`: set to the first chunk's plan's.
  std::vector<Tensor> run_split(const std::vector<Tensor>& inputs, const BatchSplit& split,
                                std::shared_ptr<const std::vector<KernelChoice>>& choices);
  void run_chunk(PlanCache& cache, const std::vector<Tensor>& inputs, Chunk& c);
};

void Session::Impl::run_chunk(PlanCache& cache, const std::vector<Tensor>& inputs, Chunk& c) {
  const std::int64_t batch = inputs[0].shape()[0];
  std::vector<Tensor> part;
  std::map<std::string, Dims> shapes;
  std::string key;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Dims d = inputs[i].shape();
    const std::size_t row_bytes = inputs[i].nbytes() / static_cast<std::size_t>(batch);
    d[0] = c.rows;
    auto* base = static_cast<char*>(const_cast<void*>(inputs[i].data()));
    part.push_back(Tensor::borrow(inputs[i].dtype(), d, base + static_cast<std::size_t>(c.begin) * row_bytes));
    key += dims_str(d) + ';';
    shapes[model->inputs()[i].name] = d;
  }
  Plan& plan = cache.get(*model, key, shapes, {});
  c.out = execute(plan, part);
  c.choices = plan.choices;
}

// The batch in chunks (sizes balanced, so at most two plans), each output row copied to
// its place; inputs are read in place. With several workers, chunks run side by side, one
// OpenMP thread each: no barrier inside a chunk's small kernels, and each worker's chunk is
// sized for its share of the cache.
std::vector<Tensor> Session::Impl::run_split(const std::vector<Tensor>& inputs, const BatchSplit& split,
                                             std::shared_ptr<const std::vector<KernelChoice>>& choices) {
  const std::int64_t batch = inputs[0].shape()[0];
  const std::int64_t n_chunks = (batch + split.rows - 1) / split.rows;
  std::vector<Chunk> chunks(static_cast<std::size_t>(n_chunks));
  std::int64_t begin = 0;
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    auto& ch = chunks[static_cast<std::size_t>(c)];
    ch.begin = begin;
    ch.rows = batch / n_chunks + (c < batch % n_chunks ? 1 : 0);
    begin += ch.rows;
  }
  const int workers = static_cast<int>(std::min<std::int64_t>(split.workers, n_chunks));
  if (workers <= 1) {
    for (auto& ch : chunks) run_chunk(plans, inputs, ch);
  } else {
    if (worker_plans.size() < static_cast<std::size_t>(workers)) worker_plans.resize(static_cast<std::size_t>(workers));
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
#pragma omp parallel num_threads(workers)
    {
      const int w = omp_get_thread_num();
      omp_set_num_threads(1);  // this worker's kernels (and the plans it builds) use one thread
      try {
        for (std::int64_t c = w; c < n_chunks; c += omp_get_num_threads())
          run_chunk(worker_plans[static_cast<std::size_t>(w)], inputs, chunks[static_cast<std::size_t>(c)]);
      } catch (...) {
        errors[static_cast<std::size_t>(w)] = std::current_exception();
      }
    }
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  std::vector<Tensor> result;
  for (const Tensor& o : chunks[0].out) {
    Dims d = o.shape();
    d[0] = batch;
    result.emplace_back(o.dtype(), d);
  }
  for (const auto& ch : chunks) {
    for (std::size_t i = 0; i < ch.out.size(); ++i) {
      const std::size_t row_bytes = result[i].nbytes() / static_cast<std::size_t>(batch);
      std::memcpy(static_cast<char*>(result[i].data()) + static_cast<std::size_t>(ch.begin) * row_bytes,
                  ch.out[i].data(), ch.out[i].nbytes());
    }
  }
  choices = chunks[0].choices;
  return result;
}

Session::Session(std::shared_ptr<const Model> model) : impl_(std::make_unique<Impl>()) {
  impl_->model = std::dynamic_pointer_cast<const ModelImpl>(model);
  PM_CHECK(impl_->model != nullptr, "Session needs a model from Model::load");
}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) {
  const ModelImpl& m = *impl_->model;
  const auto& decl = m.inputs();
  if (inputs.size() != decl.size())
    throw Error("model expects " + std::to_string(decl.size()) + " inputs, got " + std::to_string(inputs.size()));
  std::string key;
  std::map<std::string, Dims> shapes;
  std::map<std::string, Tensor> values;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    const ValueInfo& vi = decl[i];
    if (t.dtype() != vi.dtype)
      throw Error("input '" + vi.name + "' must be " + dtype_name(vi.dtype) + ", got " + dtype_name(t.dtype()));
    bool ok = vi.shape.empty() || t.shape().size() == vi.shape.size();
    for (std::size_t d = 0; ok && d < vi.shape.size(); ++d) ok = vi.shape[d] < 0 || vi.shape[d] == t.shape()[d];
    if (!ok) throw Error("input '" + vi.name + "' has shape " + dims_str(t.shape()) + ", the model wants " + dims_str(vi.shape));
    if (t.empty() && t.numel() > 0) throw Error("input '" + vi.name + "' has no data");
    key += dims_str(t.shape());
    shapes[vi.name] = t.shape();
    if (m.value_inputs[i]) {
      if (t.numel() > 4096) throw Error("input '" + vi.name + "' gives a shape but has " + std::to_string(t.numel()) + " elements");
      key.append(static_cast<const char*>(t.data()), t.nbytes());
      values[vi.name] = t;
    }
    key += ';';
  }
  if (m.opts.threads > 0) omp_set_num_threads(m.opts.threads);
  const BatchSplit* split_used = nullptr;
  if (values.empty() && m.opts.micro_batch >= 0 && !inputs.empty() && !inputs[0].shape().empty()) {
    auto sit = impl_->splits.find(key);
    if (sit == impl_->splits.end()) {
      const std::int64_t batch = inputs[0].shape()[0];
      BatchSplit split;
      bool same_batch = true;
      for (const Tensor& t : inputs) same_batch = same_batch && !t.shape().empty() && t.shape()[0] == batch;
      if (!same_batch) split.why = "inputs differ in dim 0";
      else if (batch >= 2)
        split = choose_batch_split(profile_rows(m.graph, shapes), batch, m.opts, last_level_cache_bytes(),
                                   omp_in_parallel() ? 1 : omp_get_max_threads());
      if (m.opts.verbose && batch >= 2)
        std::cerr << "[engine] batch " << batch << ": "
                  << (split.rows > 0 ? "run in chunks of at most " + std::to_string(split.rows) + " rows on " +
                                           std::to_string(split.workers) + " worker(s), "
                                     : std::string("run whole, "))
                  << split.why << "\n";
      if (impl_->splits.size() >= 64) impl_->splits.clear();
      sit = impl_->splits.emplace(key, split).first;
    }
    split_used = &sit->second;
  }
  std::vector<Tensor> out;
  std::shared_ptr<const std::vector<KernelChoice>> choices;
  if (split_used && split_used->rows > 0) {
    out = impl_->run_split(inputs, *split_used, choices);
  } else {
    Plan& plan = impl_->plans.get(m, key, shapes, values);
    out = execute(plan, inputs);
    choices = plan.choices;
  }
  // Only a run that returned is reported: a failed one leaves the previous report.
  impl_->last_choices = std::move(choices);
  impl_->last_split = split_used ? *split_used : BatchSplit{};
  return out;
}

PlanReport Session::plan_report() const {
  if (!impl_->last_choices) throw Error("Session::plan_report: no run() has returned yet");
  PlanReport r;
  r.kernels = *impl_->last_choices;
  r.chunk_rows = impl_->last_split.rows;
  r.workers = impl_->last_split.rows > 0 ? impl_->last_split.workers : 1;
  r.split_why = impl_->last_split.why;
  return r;
}

}  // namespace pm::engine
