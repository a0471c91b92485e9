#include "exec/dnnl/dnnl_common.h"

namespace pm::engine {

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

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
