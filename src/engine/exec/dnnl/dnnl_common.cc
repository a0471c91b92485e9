#include "exec/dnnl/dnnl_common.h"

#include "pixelmill/engine_tools.h"

namespace pm::engine {

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

bool cpu_has_bf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  // The ISA values are bit sets: AMX includes the BF16 bits.
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

bool engine_has_bf16() { return cpu_has_bf16(); }

bool engine_has_int8() {
  // Without VNNI oneDNN 2.6 multiplies u8 x s8 with vpmaddubsw, whose 16-bit pair sums
  // saturate, or halves the weights: results the QDQ graph does not give.
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  for (const auto vnni : {dnnl::cpu_isa::avx512_core_vnni, dnnl::cpu_isa::avx2_vnni}) {
    const auto bits = static_cast<unsigned>(vnni);
    if ((isa & bits) == bits) return true;
  }
  return false;
}

bool dnnl_eltwise_for(const std::string& kind, dnnl::algorithm& alg) {
  using A = dnnl::algorithm;
  if (kind == "Relu" || kind == "LeakyRelu") alg = A::eltwise_relu;
  else if (kind == "Clip") alg = A::eltwise_clip;
  else if (kind == "Sigmoid") alg = A::eltwise_logistic;
  else if (kind == "HardSwish") alg = A::eltwise_hardswish;
  else if (kind == "Tanh") alg = A::eltwise_tanh;
  else if (kind == "Swish") alg = A::eltwise_swish;
  else return false;
  return true;
}

}  // namespace pm::engine
