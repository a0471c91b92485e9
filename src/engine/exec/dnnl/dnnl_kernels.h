// The oneDNN kernels. A DnnlKernel states the memory layout it reads and writes; the plan
// keeps blocked layouts between oneDNN kernels and inserts reorders only where a consumer
// wants another layout (a reference kernel, a graph output).
#pragma once

#include <dnnl.hpp>

#include "exec/kernel.h"

namespace pm::engine {

class DnnlKernel : public Kernel {
 public:
  dnnl::memory::desc src_md;  // layout of input 0 (and of the residual for a sum post-op)
  dnnl::memory::desc dst_md;  // layout of output 0
};

// Returns nullptr and sets `why` when oneDNN cannot (or should not) take the node.
// `plain_io`: src/dst in plain NCHW float32 instead of the layouts oneDNN prefers.
std::unique_ptr<DnnlKernel> make_dnnl_conv(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<ValueType>& out, const EngineOptions& opts,
                                           bool plain_io, std::string& why);

// Converts between layouts (and f32 <-> bf16).
std::unique_ptr<Kernel> make_dnnl_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);

// The plain row-major float32 descriptor of a shape.
dnnl::memory::desc plain_desc(const Dims& shape);

}  // namespace pm::engine
