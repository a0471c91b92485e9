// The oneDNN kernels. A DnnlKernel states the memory layout in which it reads each input
// and writes its output; the plan keeps blocked layouts between oneDNN kernels and
// inserts reorders only where a consumer wants another layout (a reference kernel, a
// graph output).
#pragma once

#include <optional>

#include <dnnl.hpp>

#include "exec/kernel.h"

namespace pm::engine {

using Layout = std::optional<dnnl::memory::desc>;  // nullopt = plain row-major float32

class DnnlKernel : public Kernel {
 public:
  // Per input: the layout the kernel reads it in, or nullopt for inputs it does not read
  // at run time (weights and bias it holds already reordered).
  std::vector<Layout> in_mds;
  dnnl::memory::desc dst_md;  // layout of output 0
  std::string name() const final { return "dnnl:" + implementation(); }
};

// Picks the oneDNN kernel for a node, given the current layouts of its inputs. Returns
// nullptr and sets `why` when oneDNN cannot (or should not) take the node.
std::unique_ptr<DnnlKernel> make_dnnl_kernel(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<Layout>& in_layouts,
                                             const std::vector<ValueType>& out, const EngineOptions& opts,
                                             std::string& why);

// True when oneDNN has a real (not reference) kernel for the node: asked by fusion passes
// before they make a node only oneDNN can run well (PassContext::backend_runs).
bool dnnl_runs_well(const Node& n, const std::vector<ValueType>& in, const std::vector<ValueType>& out,
                    const EngineOptions& opts);

// One function per op family; same contract as make_dnnl_kernel.
// `plain_io` (conv): src/dst in plain NCHW float32 instead of the layouts oneDNN prefers.
std::unique_ptr<DnnlKernel> make_dnnl_conv(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<ValueType>& out, const EngineOptions& opts,
                                           bool plain_io, std::string& why);
// pm.QConv (ops/qconv.cc): quantising reorder + int8 convolution.
std::unique_ptr<DnnlKernel> make_dnnl_qconv(const Node& n, const std::vector<ValueType>& in,
                                            const std::vector<ValueType>& out, std::string& why);
// pm.QGemm (ops/qgemm.cc): quantising reorder + int8 matmul.
std::unique_ptr<DnnlKernel> make_dnnl_qgemm(const Node& n, const std::vector<ValueType>& in,
                                            const std::vector<ValueType>& out, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_conv_transpose(const Node& n, const std::vector<ValueType>& in,
                                                     const std::vector<ValueType>& out, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_pool(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<Layout>& in_layouts,
                                           const std::vector<ValueType>& out, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_gemm(const Node& n, const std::vector<ValueType>& in,
                                           const std::vector<ValueType>& out, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_eltwise(const Node& n, const std::vector<ValueType>& in,
                                              const std::vector<Layout>& in_layouts, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_binary(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<Layout>& in_layouts,
                                             const std::vector<ValueType>& out, std::string& why);

std::unique_ptr<DnnlKernel> make_dnnl_concat(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<Layout>& in_layouts,
                                             const std::vector<ValueType>& out, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_batchnorm(const Node& n, const std::vector<ValueType>& in,
                                                const std::vector<Layout>& in_layouts, std::string& why);
std::unique_ptr<DnnlKernel> make_dnnl_matmul(const Node& n, const std::vector<ValueType>& in,
                                             const std::vector<ValueType>& out, std::string& why);

std::unique_ptr<DnnlKernel> make_dnnl_reduction(const Node& n, const std::vector<ValueType>& in,
                                                const std::vector<Layout>& in_layouts,
                                                const std::vector<ValueType>& out, std::string& why);

// Converts between layouts (and f32 <-> bf16).
std::unique_ptr<Kernel> make_dnnl_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);

// The plain row-major float32 descriptor of a shape.
dnnl::memory::desc plain_desc(const Dims& shape);
// The same for uint8/int8 (quantised activations between int8 convolutions), float32
// otherwise.
dnnl::memory::desc plain_desc(const Dims& shape, DType dtype);
dnnl::memory::dims to_dnnl_dims(const Dims& d);

}  // namespace pm::engine
