#include "precision_setup.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "extract_setup.h"
#include "object_annotator.h"
#include "resume.h"

#include "pixelmill/agreed.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/preprocess.h"

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

double seconds_per_batch(const std::shared_ptr<const engine::Model>& model, const Tensor& batch) {
  engine::Session session(model);
  session.run({batch});  // plans and JIT
  double t[3];
  for (double& s : t) {
    const auto start = std::chrono::steady_clock::now();
    session.run({batch});
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::sort(std::begin(t), std::end(t));
  return t[1];
}

LoadedModel keep_faster_of_int8_and_bf16(const Comm& comm, LoadedModel int8, const std::string& own_card,
                                         const CpuCapabilities& cpu, const engine::EngineOptions& options,
                                         int batch, const std::string& resumed) {
  if (resumed == "int8") {
    int8.precision.reason += " (as the run being resumed; bf16 not timed)";
    return int8;
  }
  LoadedModel bf16;
  double t_int8 = -1, t_bf16 = -1;
  agreed(comm, "model", [&] {
    const ResolvedModel r = resolve_model_precision(own_card, PrecisionRequest::kBf16, cpu, IfNoInt8::kRefuse);
    engine::EngineOptions eo = options;
    eo.precision = engine_precision(r.choice, cpu);
    bf16.card = r.files.card;
    bf16.onnx = r.files.onnx;
    bf16.precision = r.choice;
    bf16.embedding_output = int8.embedding_output;  // the same graph outputs, by the sibling check
    if (resumed == "bf16") {  // what the stopped run ran: it must load
      bf16.model = engine::Model::load(r.files.onnx, eo);
      return;
    }
    // The batch the job feeds (the sibling's card has the fp32 card's input).
    const Tensor x = make_batch_tensor(int8.card, batch);
    t_int8 = seconds_per_batch(int8.model, x);
    try {
      bf16.model = engine::Model::load(r.files.onnx, eo);
      t_bf16 = seconds_per_batch(bf16.model, x);
    } catch (const std::exception&) {
      t_bf16 = std::numeric_limits<double>::infinity();  // bf16 does not run here: int8 stays
    }
  });
  if (resumed == "bf16") {
    bf16.precision.reason = "auto: bf16 (the card allows it), as the run being resumed; int8 not timed";
    return bf16;
  }
  // The slowest rank's figure for each: every rank takes the same decision.
  t_int8 = comm.allreduce_max(t_int8);
  t_bf16 = comm.allreduce_max(t_bf16);
  char figures[160];
  if (std::isinf(t_bf16))
    std::snprintf(figures, sizeof figures, "bf16 did not load or run on some rank");
  else
    std::snprintf(figures, sizeof figures, "bf16 %.0f img/s, int8 %.0f img/s (batch %d, slowest rank)",
                  batch / t_bf16, batch / t_int8, batch);
  if (t_bf16 < t_int8) {
    bf16.precision.reason = "auto: bf16 (the card allows it), measured faster than "
                            "quantized sibling " + std::filesystem::path(int8.card.path).filename().string() +
                            " in int8: " + figures;
    return bf16;
  }
  int8.precision.reason += ", measured faster than bf16: " + std::string(figures);
  return int8;
}

std::string resumed_precision(const Comm& comm, const ExtractOptions& o) {
  std::string ran;
  if (comm.rank() == 0 && o.resume && std::filesystem::exists(o.output)) {
    try {
      const auto params = recorded_parameters(h5::read_root_attributes(o.output));
      if (params.contains("precision_ran") && params["precision_ran"].is_string())
        ran = params["precision_ran"].get<std::string>();
    } catch (const std::exception&) {
      ran.clear();  // not readable: inspect_output refuses it with the reason
    }
  }
  return comm.broadcast(ran, 0);
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
