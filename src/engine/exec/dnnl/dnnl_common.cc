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

bool dnnl_eltwise_for(const std::string& kind, dnnl::algorithm& alg) {
  using A = dnnl::algorithm;
  if (kind == "Relu" || kind == "LeakyRelu") alg = A::eltwise_relu;
  else if (kind == "Clip") alg = A::eltwise_clip;
  else if (kind == "Sigmoid") alg = A::eltwise_logistic;
  else if (kind == "HardSwish") alg = A::eltwise_hardswish;
  else if (kind == "Tanh") alg = A::eltwise_tanh;
  else return false;
  return true;
}

}  // namespace pm::engine
