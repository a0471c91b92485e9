// The fast-versus-reference setup of the int8 kernel tests: a QDQ model run with
// --precision int8 (pm.QConv/pm.QGemm on oneDNN) and on the reference kernels (the QDQ
// graph as written), on the same inputs.
#pragma once

#include <string>
#include <vector>

#include "pixelmill/engine.h"

namespace pm::engine::test {

struct Int8Run {
  std::vector<Tensor> got;   // --precision int8
  std::vector<Tensor> want;  // reference kernels
  PlanReport report;         // the int8 session's kernel choices
};

inline Int8Run run_int8_and_reference(const std::string& path, const std::vector<Tensor>& inputs) {
  EngineOptions int8;
  int8.precision = Precision::kInt8;
  EngineOptions ref;
  ref.reference = true;
  Session fast(Model::load(path, int8));
  Session slow(Model::load(path, ref));
  Int8Run r;
  r.got = fast.run(inputs);
  r.want = slow.run(inputs);
  r.report = fast.plan_report();
  return r;
}

// Whether some node of `op` ran on a oneDNN int8 kernel.
inline bool ran_on_int8_kernel(const PlanReport& report, const std::string& op) {
  for (const auto& k : report.kernels)
    if (k.op == op && k.implementation.rfind("int8 ", 0) == 0) return true;
  return false;
}

}  // namespace pm::engine::test
