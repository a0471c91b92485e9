// --precision in a job (pixelmill/model_precision.h decides for one network): what the
// ranks' CPUs run natively, agreed, so that every rank decides alike; the engine
// precision of a choice; and the check that every rank resolved a model to the same file.
#pragma once

#include <memory>
#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/engine.h"
#include "pixelmill/extract.h"
#include "pixelmill/model_precision.h"

namespace pm::pipeline {

// What every rank's CPU runs natively (the least of them): a heterogeneous job runs one
// precision everywhere, so that its rows compare. Collective.
CpuCapabilities agreed_cpu_capabilities(const Comm& comm);

// The engine option of a choice: int8 without VNNI runs the QDQ file as written (kF32),
// the note of the choice having said so.
engine::Precision engine_precision(const PrecisionChoice& choice, const CpuCapabilities& cpu);

// Throws pm::AgreedError on every rank unless every rank resolved `r` to the same file
// (sha256) at the same precision (node-local copies of the cards may differ). Collective.
void check_resolved_alike(const Comm& comm, const std::string& what, const ResolvedModel& r);

// "int8 (auto: quantized sibling x.int8.json, CPU has VNNI)": for the summary line.
std::string describe_choice(const PrecisionChoice& choice);

struct LoadedModel;
struct DetectionJob;

// Seconds per run of `batch` on `model`: one warm-up run (plans, JIT), then the median
// of three. Not collective.
double seconds_per_batch(const std::shared_ptr<const engine::Model>& model, const Tensor& batch);

// auto where both the int8 sibling and bf16 can run (PrecisionChoice::measure_bf16): the
// ranks time both at the job's batch size and keep the faster on the slowest rank (the same
// decision everywhere). `own_card` is the card the user named; `int8` is loaded. Returns
// the choice that runs: `int8` (its reason now giving both figures) or the card's own file
// in bf16, loaded. `resumed` ("int8", "bf16" or ""): what the run being resumed ran,
// taken without timing, so that a resumed run never switches on a close measurement.
// Collective.
LoadedModel keep_faster_of_int8_and_bf16(const Comm& comm, LoadedModel int8, const std::string& own_card,
                                         const CpuCapabilities& cpu, const engine::EngineOptions& options,
                                         int batch, const std::string& resumed);

// With --resume and an existing --output: the precision its run ran ("" otherwise, or
// when the file cannot be read: the resume check says why later). Collective.
std::string resumed_precision(const Comm& comm, const ExtractOptions& o);

// What --precision did in a run: the output file's parameters and --metrics-json say it.
struct PrecisionRecord {
  std::string requested;          // --precision as given
  std::string ran;                // what the --model ran at: fp32 | bf16 | int8
  std::string reason;             // why (PrecisionChoice::reason)
  std::string model_file;         // the file that ran, absolute (the quantized sibling's, for int8)
  std::string model_file_sha256;
  std::string detector_ran;       // "" without --detector
  std::string crop_model_ran;     // "" without --detector
};
PrecisionRecord precision_record(const ExtractOptions& o, const LoadedModel& model,
                                 const DetectionJob* detection);

}  // namespace pm::pipeline
