// A DnnlKernel that runs one oneDNN primitive with its activations passed in at run time
// and any constant arguments (weights, bias) bound when it was built.
#pragma once

#include <unordered_map>

#include "exec/dnnl/dnnl_common.h"
#include "exec/dnnl/dnnl_kernels.h"

namespace pm::engine {

class PrimitiveKernel final : public DnnlKernel {
 public:
  struct Arg {
    int dnnl_arg;       // DNNL_ARG_SRC, DNNL_ARG_SRC_1, ...
    int input;          // index into the run-time inputs
    dnnl::memory::desc md;
  };
  PrimitiveKernel(dnnl::primitive prim, std::string impl, std::vector<Arg> args, dnnl::memory::desc dst,
                  std::unordered_map<int, dnnl::memory> bound)
      : prim_(std::move(prim)), impl_(std::move(impl)), args_(std::move(args)), out_md_(dst),
        bound_(std::move(bound)), stream_(cpu_engine()) {
    dst_md = dst;
  }
  void run(const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    std::unordered_map<int, dnnl::memory> args = bound_;
    for (const auto& a : args_)
      args[a.dnnl_arg] = dnnl::memory(a.md, cpu_engine(), const_cast<void*>(in[static_cast<std::size_t>(a.input)]->data()));
    args[DNNL_ARG_DST] = dnnl::memory(out_md_, cpu_engine(), out[0].data());
    prim_.execute(stream_, args);
    stream_.wait();
  }
  std::string implementation() const override { return impl_; }

 private:
  dnnl::primitive prim_;
  std::string impl_;
  std::vector<Arg> args_;
  dnnl::memory::desc out_md_;
  std::unordered_map<int, dnnl::memory> bound_;
  dnnl::stream stream_;
};

}  // namespace pm::engine
