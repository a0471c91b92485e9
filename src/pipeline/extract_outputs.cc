// The run file of `extract` (created, or reopened to continue a stopped run) and rank 0's
// last word on how the run ended.
#include "extract_outputs.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "detection_setup.h"
#include "extract_setup.h"
#include "precision_setup.h"
#include "pixelmill/sha256.h"

#ifndef PM_VERSION
#define PM_VERSION "0.0.0"
#endif

namespace pm::pipeline {

// The run file at --output (none without it): created, or reopened to continue a
// stopped run. Collective.
std::optional<h5::RunWriter> open_run_file(const Comm& comm, const ExtractOptions& o,
                                           const LoadedModel& model,
                                           const ThreadBudget& budget,
                                           const std::string& plan_sha256, int plan_ranks,
                                           bool resuming, std::size_t planned_splits,
                                           const DetectionJob* detection) {
  std::optional<h5::RunWriter> writer;
  if (!o.output.empty()) {
    // The card and sha256 of the file that ran (the quantized sibling's, for int8): what
    // the embeddings are of, and what search and --resume compare.
    const ModelCard& card = model.card;
    const PrecisionRecord precision = precision_record(o, model, detection);
    h5::RunAttributes attrs;
    attrs.version = PM_VERSION;
    attrs.command_line = o.command_line;
    attrs.model_card_json = card.raw_json;
    attrs.model_card_sha256 = sha256_hex(card.raw_json);
    attrs.model_sha256 = card.sha256;
    nlohmann::json params = {
        {"input", o.input}, {"output", o.output}, {"model", o.model}, {"batch", o.batch},
        {"ranks", comm.size()}, {"compute_threads", budget.compute},
        {"decode_threads", budget.decode}, {"max_pixels", o.max_pixels},
        {"max_bytes", o.max_bytes}, {"max_key_bytes", o.max_key_bytes},
        {"reference", o.reference},
        // --precision as given, what the model ran at and why, and the file that ran.
        // (Files written before --precision have "bf16": true|false instead.)
        {"precision", precision.requested}, {"precision_ran", precision.ran},
        {"precision_reason", precision.reason}, {"model_file_ran", precision.model_file},
        {"model_file_ran_sha256", precision.model_file_sha256}};
    params["input"] = recorded_input(o.input);
    if (detection) params["detection"] = detection_identity(detection);
    attrs.parameters_json = params.dump();
    set_detection_attributes(detection, attrs);
    attrs.plan_sha256 = plan_sha256;
    attrs.plan_ranks = plan_ranks;
    writer.emplace(resuming ? h5::RunWriter::resume(comm, o.output, attrs)
                            : h5::RunWriter::create(comm, o.output, card.embedding.dim, planned_splits, attrs));
  }
  return writer;
}

// Rank 0 says whether the run stopped early and how to go on.
void say_how_it_ended(const Comm& comm, const ExtractOptions& o, bool complete, bool stopped,
                      std::size_t splits_done, std::size_t planned) {
  if (!complete && comm.rank() == 0) {
    if (o.output.empty())
      std::fprintf(stderr, "pixelmill extract: stopped early with %zu of %zu splits done; "
                           "there is no --output file to resume from\n", splits_done, planned);
    else
      std::fprintf(stderr, "pixelmill extract: stopped early: %zu of %zu splits done, written to %s "
                           "(marked incomplete). Run the same command with --resume to process "
                           "the other %zu splits.\n",
                   splits_done, planned, o.output.c_str(), planned - splits_done);
  } else if (stopped && comm.rank() == 0 && !o.quiet) {
    std::fprintf(stderr, "pixelmill extract: a stop was requested after the last split was done; "
                         "the output is complete\n");
  }
}

}  // namespace pm::pipeline
