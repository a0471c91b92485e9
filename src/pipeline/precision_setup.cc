#include "precision_setup.h"

#include <cstdint>
#include <filesystem>

#include "extract_setup.h"
#include "object_annotator.h"

#include "pixelmill/agreed.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::pipeline {

CpuCapabilities agreed_cpu_capabilities(const Comm& comm) {
  CpuCapabilities cpu;
  cpu.bf16 = comm.allreduce_min(static_cast<std::int64_t>(engine::engine_has_bf16())) != 0;
  cpu.vnni = comm.allreduce_min(static_cast<std::int64_t>(engine::engine_has_int8())) != 0;
  return cpu;
}

engine::Precision engine_precision(const PrecisionChoice& choice, const CpuCapabilities& cpu) {
  switch (choice.precision) {
    case RunPrecision::kFp32: return engine::Precision::kF32;
    case RunPrecision::kBf16: return engine::Precision::kBF16;
    case RunPrecision::kInt8: return cpu.vnni ? engine::Precision::kInt8 : engine::Precision::kF32;
  }
  return engine::Precision::kF32;
}

void check_resolved_alike(const Comm& comm, const std::string& what, const ResolvedModel& r) {
  const std::string mine = std::string(run_precision_name(r.choice.precision)) + " " +
                           r.files.card.sha256;
  const std::string root = comm.broadcast(mine, 0);
  agreed(comm, what, [&] {
    if (mine != root)
      throw Error("rank " + std::to_string(comm.rank()) + " resolved " + r.given_card + " to " + mine +
                  " (precision, file sha256), rank 0 to " + root + ": the model cards differ between nodes");
  });
}

std::string describe_choice(const PrecisionChoice& choice) {
  return std::string(run_precision_name(choice.precision)) + " (" + choice.reason + ")";
}

PrecisionRecord precision_record(const ExtractOptions& o, const LoadedModel& model,
                                 const DetectionJob* detection) {
  PrecisionRecord r;
  r.requested = o.precision;
  r.ran = run_precision_name(model.precision.precision);
  r.reason = model.precision.reason;
  r.model_file = std::filesystem::absolute(model.onnx).lexically_normal().string();
  r.model_file_sha256 = model.card.sha256;
  if (detection) {
    r.detector_ran = run_precision_name(detection->detector_precision.precision);
    r.crop_model_ran = run_precision_name(detection->crop_precision.precision);
  }
  return r;
}

}  // namespace pm::pipeline
