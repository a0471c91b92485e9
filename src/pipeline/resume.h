// What `extract` finds at --output before it starts, and whether a run stopped early or
// killed may be continued (`--resume`). A partial file (complete = 0) holds the rows of
// the splits its checkpoint rounds completed and /progress says which; a resumed run
// checks it was made by the same job (input, model file, the precision it ran at, split
// plan), then goes on writing rounds into it (pixelmill/run_writer.h) for the missing
// splits only.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/image_result.h"

namespace pm::pipeline {

// What a run is, as far as its output depends on it.
struct RunIdentity {
  std::string input;             // normalised input spec
  std::string model_sha256;
  std::string model_card_sha256;
  bool reference = false;
  std::string precision_ran;     // fp32 | bf16 | int8: what the model ran at (--precision)
  std::int64_t max_key_bytes = 4096;  // which keys are stored
  std::string detection;  // extract --detector: what finds and embeds objects ("" = none)
};

struct OutputState {
  enum class Mode { kFresh, kResume, kAlreadyComplete };
  Mode mode = Mode::kFresh;
  h5::Progress progress;      // kResume: which splits the partial file holds
  std::int64_t rows = 0;      // kAlreadyComplete: rows in the file
  std::string note;           // said by rank 0 before starting ("" = nothing)
};

// Decides, from what lies at `output`, whether to start afresh, continue, or do
// nothing. Collective: rank 0 reads the file and every rank gets its verdict, or the
// same pm::Error: a partial file without `resume` (it would be overwritten), or a
// partial file of a different run with `resume`. Reads only; never changes the file.
OutputState inspect_output(const Comm& comm, const std::string& output, bool resume,
                           const RunIdentity& run);

// The "parameters" root attribute of a run (a JSON object), from its root attributes: an
// empty object when there is none; throws when it is not a JSON object.
nlohmann::json recorded_parameters(const std::map<std::string, std::string>& root);

// Throws unless the freshly planned splits are the ones the partial file was made for.
void check_plan(const std::string& output, const h5::Progress& progress,
                const std::string& plan_sha256, std::size_t planned_splits);

}  // namespace pm::pipeline
