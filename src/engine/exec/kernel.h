// A kernel compiled for one node and concrete shapes. `run` writes into outputs already
// allocated by the plan; it never allocates on the hot path (the reference kernels may).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op_registry.h"

namespace pm::engine {

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(const std::vector<const Tensor*>& in, std::vector<Tensor>& out) = 0;
  // What computes the node, for Session::plan_report: oneDNN's impl_info_str() (e.g.
  // "brgconv:avx512_core") for a oneDNN kernel, "ref" for a reference kernel.
  virtual std::string implementation() const = 0;
  virtual std::string name() const = 0;  // for logs and profiles: "ref:Conv", "dnnl:brgconv:avx512_core"
};

// Wraps the op's reference kernel.
std::unique_ptr<Kernel> make_ref_kernel(const Node& n);

}  // namespace pm::engine
