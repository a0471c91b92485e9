// pm.QGemm on oneDNN: the activation, seen as [M, K] rows, is quantised by a reorder
// (float32 -> uint8/int8, scale 1/x_scale, zero point x_zero_point), then an int8 matmul
// with int32 sums writes float32: output scale alpha * x_scale * w_scale[n] per column,
// the source zero point given to oneDNN (it subtracts zx * sum_k W[k, n], precomputed in
// the reordered weights), the float32 bias beta * C divided by the output scale (oneDNN
// 2.6 adds the bias to the int32 sum before scaling, as for int8 convolutions). Weights
// are reordered once, when the kernel is built; oneDNN picks its VNNI/AMX kernel where the
// CPU has one.
#include <cmath>

#include "exec/dnnl/dnnl_common.h"
#include "exec/dnnl/dnnl_kernels.h"
#include "exec/dnnl/int8_kernel.h"

namespace pm::engine {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

}  // namespace

std::unique_ptr<DnnlKernel> make_dnnl_qgemm(const Node& n, const std::vector<ValueType>& in,
                                            const std::vector<ValueType>& out, std::string& why) {
  if (!in[1].value || !in[2].value || (n.has_input(3) && !in[3].value)) {
    why = "weights, weight scales or bias are not constant";
    return nullptr;
  }
  const bool tb = n.attr_i("transB", 0) != 0;
  const Dims& ws = in[1].shape;
  const std::int64_t k = tb ? ws[1] : ws[0], nn = tb ? ws[0] : ws[1];
  const std::int64_t m = dims_product(in[0].shape) / k;
  if (m == 0 || k == 0 || nn == 0) {
    why = "an empty matrix";
    return nullptr;
  }
  try {
    auto& eng = cpu_engine();
    const float sx = n.attr_f("x_scale", 1.f), alpha = n.attr_f("alpha", 1.f), beta = n.attr_f("beta", 1.f);
    const auto zx = static_cast<std::int32_t>(n.attr_i("x_zero_point", 0));
    const dt src_dt = n.attr_i("x_signed", 0) ? dt::s8 : dt::u8;
    std::vector<float> scales(static_cast<std::size_t>(nn));
    const float* sw = in[2].value->ptr<float>();
    for (std::size_t c = 0; c < scales.size(); ++c) scales[c] = alpha * sx * sw[c];
    // Scales that are zero, denormal or overflow would give inf/NaN where the reference
    // gives numbers (bias / scale, 1 / x_scale): such a node runs on its reference kernel.
    const float* bias_v = n.has_input(3) ? in[3].value->ptr<float>() : nullptr;
    bool finite = std::isnormal(sx) && std::isfinite(1.f / sx);
    for (std::size_t c = 0; c < scales.size() && finite; ++c)
      finite = std::isnormal(scales[c]) && (!bias_v || std::isfinite(beta * bias_v[c] / scales[c]));
    if (!finite) {
      why = "a scale is zero, denormal or too small for its bias";
      return nullptr;
    }
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, scales);  // per column: dimension 1 of dst [M, N]
    if (zx != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {zx});
    const dnnl::memory::desc src_md({m, k}, src_dt, tag::ab);
    const dnnl::memory::desc w_md({k, nn}, dt::s8, tag::any);
    const dnnl::memory::desc b_md({1, nn}, dt::f32, tag::ab);
    const dnnl::memory::desc dst_md({m, nn}, dt::f32, tag::ab);
    auto desc = bias_v ? dnnl::matmul::desc(src_md, w_md, b_md, dst_md) : dnnl::matmul::desc(src_md, w_md, dst_md);
    dnnl::matmul::primitive_desc pd(desc, attr, eng);
    const std::string impl = pd.impl_info_str();
    if (impl.find("ref") != std::string::npos) {
      why = "oneDNN has only its reference int8 matmul for this shape (" + impl + ")";
      return nullptr;
    }
    // The quantising reorder: float32 [M, K] -> the matmul's int8 source.
    dnnl::primitive_attr qattr;
    qattr.set_output_scales(0, {1.f / sx});
    if (zx != 0) qattr.set_zero_points(DNNL_ARG_DST, 0, {zx});
    dnnl::reorder::primitive_desc quantize(eng, dnnl::memory::desc({m, k}, dt::f32, tag::ab), eng, pd.src_desc(),
                                           qattr);

    // Wq is [K, N], or [N, K] with transB: the same [K, N] matrix with strides (1, K).
    dnnl::stream s(eng);
    dnnl::memory w_plain({{k, nn}, dt::s8, tb ? tag::ba : tag::ab}, eng, const_cast<void*>(in[1].value->data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::reorder(w_plain, w_mem).execute(s, w_plain, w_mem);
    dnnl::memory b_mem;
    if (bias_v) {
      // dst = scale[n] * (sum + bias'[n]), so bias' = beta * C / scale.
      b_mem = dnnl::memory(b_md, eng);
      auto* b = static_cast<float*>(b_mem.get_data_handle());
      for (std::size_t c = 0; c < scales.size(); ++c) b[c] = beta * bias_v[c] / scales[c];
    }
    s.wait();
    auto kernel = std::make_unique<Int8Kernel<dnnl::matmul>>(quantize, pd, w_mem, b_mem);
    // x and y are plain row-major; the kernel's [M, K] and [M, N] views have the same bytes.
    kernel->in_mds.assign(in.size(), std::nullopt);
    kernel->dst_md = plain_desc(out[0].shape);
    return kernel;
  } catch (const dnnl::error& e) {
    why = std::string("oneDNN refused: ") + e.what();
    return nullptr;
  }
}

}  // namespace pm::engine
