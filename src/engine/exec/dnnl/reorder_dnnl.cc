// Layout (and f32 <-> bf16) conversion between kernels.
#include "exec/dnnl/dnnl_common.h"
#include "exec/dnnl/dnnl_kernels.h"

namespace pm::engine {

namespace {

class DnnlReorder final : public Kernel {
 public:
  DnnlReorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to)
      : DnnlReorder(from, to, dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to)) {}
  void run(const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    dnnl::memory src(from_, cpu_engine(), const_cast<void*>(in[0]->data()));
    dnnl::memory dst(to_, cpu_engine(), out[0].data());
    prim_.execute(stream_, src, dst);
    stream_.wait();
  }
  std::string implementation() const override { return impl_; }
  // One profile line for all reorders, whichever oneDNN implementation each took.
  std::string name() const override { return "dnnl:reorder"; }

 private:
  DnnlReorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to, const dnnl::reorder::primitive_desc& pd)
      : from_(from), to_(to), impl_(pd.impl_info_str()), prim_(pd), stream_(cpu_engine()) {}

  dnnl::memory::desc from_, to_;
  std::string impl_;
  dnnl::reorder prim_;
  dnnl::stream stream_;
};

}  // namespace

std::unique_ptr<Kernel> make_dnnl_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  return std::make_unique<DnnlReorder>(from, to);
}

dnnl::memory::desc plain_desc(const Dims& shape) {
  dnnl::memory::dims d(shape.begin(), shape.end()), strides(shape.size());
  dnnl::memory::dim acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = acc;
    acc *= shape[i];
  }
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, strides);
}

dnnl::memory::desc plain_desc(const Dims& shape, DType dtype) {
  dnnl::memory::desc md = plain_desc(shape);
  if (dtype == DType::kU8) md.data.data_type = dnnl_u8;
  if (dtype == DType::kI8) md.data.data_type = dnnl_s8;
  return md;
}

}  // namespace pm::engine

namespace pm::engine {

dnnl::memory::dims to_dnnl_dims(const Dims& d) { return dnnl::memory::dims(d.begin(), d.end()); }

}  // namespace pm::engine
