// Session: per-thread execution context with plans cached per set of input shapes.
#include <omp.h>

#include <algorithm>

#include <cstring>
#include <iostream>

#include "exec/micro_batch.h"
#include "exec/plan.h"
#include "model_impl.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {
// Plans kept per session; the least recently used goes first. Each holds its buffers, so
// a stream of ever-new shapes must not keep them all.
constexpr std::size_t kMaxPlans = 8;
}  // namespace

struct Session::Impl {
  std::shared_ptr<const ModelImpl> model;
  std::map<std::string, std::unique_ptr<Plan>> plans;  // key: shapes (+ shape-input values)
  std::map<std::string, std::uint64_t> last_used;
  std::uint64_t clock = 0;
  std::map<std::string, BatchSplit> splits;  // key: shapes of the whole call

  Plan& plan_for(const std::string& key, const std::map<std::string, Dims>& shapes,
                 const std::map<std::string, Tensor>& values);
  std::vector<Tensor> run_split(const std::vector<Tensor>& inputs, std::int64_t rows);
};

Plan& Session::Impl::plan_for(const std::string& key, const std::map<std::string, Dims>& shapes,
                              const std::map<std::string, Tensor>& values) {
  auto it = plans.find(key);
  if (it == plans.end()) {
    if (plans.size() >= kMaxPlans) {
      auto oldest = std::min_element(last_used.begin(), last_used.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
      plans.erase(oldest->first);
      last_used.erase(oldest);
    }
    it = plans.emplace(key, build_plan(model->graph, shapes, values, model->opts)).first;
  }
  last_used[key] = ++clock;
  return *it->second;
}

// The batch in chunks of at most `rows` (sizes balanced, so at most two plans), each
// output row copied to its place. Inputs are read in place.
std::vector<Tensor> Session::Impl::run_split(const std::vector<Tensor>& inputs, std::int64_t rows) {
  const std::int64_t batch = inputs[0].shape()[0];
  const std::int64_t chunks = (batch + rows - 1) / rows;
  std::vector<Tensor> result;
  std::int64_t begin = 0;
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t n = batch / chunks + (c < batch % chunks ? 1 : 0);
    std::vector<Tensor> part;
    std::map<std::string, Dims> shapes;
    std::string key;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      Dims d = inputs[i].shape();
      const std::size_t row_bytes = inputs[i].nbytes() / static_cast<std::size_t>(batch);
      d[0] = n;
      auto* base = static_cast<char*>(const_cast<void*>(inputs[i].data()));
      part.push_back(Tensor::borrow(inputs[i].dtype(), d, base + static_cast<std::size_t>(begin) * row_bytes));
      key += dims_str(d) + ';';
      shapes[model->inputs()[i].name] = d;
    }
    std::vector<Tensor> out = execute(plan_for(key, shapes, {}), part);
    if (result.empty()) {
      for (const Tensor& o : out) {
        Dims d = o.shape();
        d[0] = batch;
        result.emplace_back(o.dtype(), d);
      }
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::size_t row_bytes = result[i].nbytes() / static_cast<std::size_t>(batch);
      std::memcpy(static_cast<char*>(result[i].data()) + static_cast<std::size_t>(begin) * row_bytes, out[i].data(),
                  out[i].nbytes());
    }
    begin += n;
  }
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
  if (values.empty() && m.opts.micro_batch >= 0 && !inputs.empty() && !inputs[0].shape().empty()) {
    auto sit = impl_->splits.find(key);
    if (sit == impl_->splits.end()) {
      const std::int64_t batch = inputs[0].shape()[0];
      BatchSplit split;
      bool same_batch = true;
      for (const Tensor& t : inputs) same_batch = same_batch && !t.shape().empty() && t.shape()[0] == batch;
      if (!same_batch) split.why = "inputs differ in dim 0";
      else if (batch >= 2) split = choose_batch_split(profile_rows(m.graph, shapes), batch, m.opts, last_level_cache_bytes());
      if (m.opts.verbose && batch >= 2)
        std::cerr << "[engine] batch " << batch << ": "
                  << (split.rows > 0 ? "run in chunks of at most " + std::to_string(split.rows) + " rows, "
                                     : std::string("run whole, "))
                  << split.why << "\n";
      if (impl_->splits.size() >= 64) impl_->splits.clear();
      sit = impl_->splits.emplace(key, split).first;
    }
    if (sit->second.rows > 0) return impl_->run_split(inputs, sit->second.rows);
  }
  return execute(impl_->plan_for(key, shapes, values), inputs);
}

}  // namespace pm::engine
