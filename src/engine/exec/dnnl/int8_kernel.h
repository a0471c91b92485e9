// The run-time half shared by the int8 kernels (pm.QConv, pm.QGemm): quantise the float32
// activation by a reorder into the primitive's int8 source, then run the primitive with
// the weights and bias it holds already reordered. `Prim` is the primitive
// (dnnl::convolution_forward, dnnl::matmul).
// A fused residual (sum post-op) is copied into the output first unless the plan made
// them share a buffer. Without a quantising reorder (x already quantised by the kernel
// that wrote it) x is the primitive's source as it is.
#pragma once

#include <cstring>
#include <optional>
#include <unordered_map>

#include "exec/dnnl/dnnl_common.h"
#include "exec/dnnl/dnnl_kernels.h"

namespace pm::engine {

template <class Prim>
class Int8Kernel final : public DnnlKernel {
 public:
  using Pd = typename Prim::primitive_desc;
  // `sum_input`: the run-time input holding the residual of a sum post-op, or -1.
  Int8Kernel(std::optional<dnnl::reorder::primitive_desc> quantize, Pd pd, dnnl::memory weights,
             dnnl::memory bias, int sum_input = -1)
      : quantize_pd_(std::move(quantize)), pd_(std::move(pd)), prim_(pd_), weights_(std::move(weights)),
        bias_(std::move(bias)), sum_input_(sum_input), stream_(cpu_engine()) {
    if (quantize_pd_) {
      quantize_ = dnnl::reorder(*quantize_pd_);
      q_ = dnnl::memory(pd_.src_desc(), cpu_engine());
    }
  }

  // The layout x is read in: float32 for the quantising reorder, else the primitive's source.
  dnnl::memory::desc x_desc() const { return quantize_pd_ ? quantize_pd_->src_desc() : pd_.src_desc(); }

  void run(const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    if (sum_input_ >= 0) {
      const Tensor* r = in[static_cast<std::size_t>(sum_input_)];
      if (r->data() != out[0].data()) std::memcpy(out[0].data(), r->data(), dst_md.get_size());
    }
    dnnl::memory x(x_desc(), cpu_engine(), const_cast<void*>(in[0]->data()));
    if (quantize_pd_) quantize_.execute(stream_, x, q_);
    dnnl::memory dst(pd_.dst_desc(), cpu_engine(), out[0].data());
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, quantize_pd_ ? q_ : x}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst}};
    if (bias_) args[DNNL_ARG_BIAS] = bias_;
    prim_.execute(stream_, args);
    stream_.wait();
  }
  std::string implementation() const override { return std::string("int8 ") + pd_.impl_info_str(); }

 private:
  std::optional<dnnl::reorder::primitive_desc> quantize_pd_;
  dnnl::reorder quantize_;
  Pd pd_;
  Prim prim_;
  dnnl::memory weights_, bias_;
  dnnl::memory q_;  // the quantised activation, the primitive's source
  int sum_input_;
  dnnl::stream stream_;
};

}  // namespace pm::engine
