// Session: per-thread execution context with plans cached per set of input shapes.
#include <omp.h>

#include <algorithm>

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
};

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
  auto it = impl_->plans.find(key);
  if (it == impl_->plans.end()) {
    if (impl_->plans.size() >= kMaxPlans) {
      auto oldest = std::min_element(impl_->last_used.begin(), impl_->last_used.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
      impl_->plans.erase(oldest->first);
      impl_->last_used.erase(oldest);
    }
    it = impl_->plans.emplace(key, build_plan(m.graph, shapes, values, m.opts)).first;
  }
  impl_->last_used[key] = ++impl_->clock;
  return execute(*it->second, inputs);
}

}  // namespace pm::engine
