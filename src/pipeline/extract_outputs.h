// The run file of `extract` and rank 0's last word (extract.cc composes these).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/extract.h"
#include "pixelmill/model_card.h"
#include "pixelmill/run_writer.h"
#include "extract_setup.h"
#include "object_annotator.h"
#include "thread_budget.h"

namespace pm::pipeline {

// The run file at --output (none without it): created, or reopened to continue a stopped
// run (`resuming`). Collective.
std::optional<h5::RunWriter> open_run_file(const Comm& comm, const ExtractOptions& o,
                                           const LoadedModel& model, const ThreadBudget& budget,
                                           const std::string& plan_sha256, int plan_ranks,
                                           bool resuming, std::size_t planned_splits,
                                           const DetectionJob* detection);

// Rank 0 says whether the run stopped early and how to go on.
void say_how_it_ended(const Comm& comm, const ExtractOptions& o, bool complete, bool stopped,
                      std::size_t splits_done, std::size_t planned);

}  // namespace pm::pipeline
