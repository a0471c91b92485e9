// The per-rank machinery of `extract`: reader threads (one split each, claimed by the
// main thread through a shared counter), decode threads (decode, hash, preprocess into a
// batch slot), one inference thread (the engine with its OpenMP threads). Bounded queues
// between them; exceptions inside threads are captured and rethrown on the main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/decode.h"
#include "pixelmill/engine.h"
#include "pixelmill/image_result.h"
#include "pixelmill/model_card.h"
#include "pixelmill/source.h"
#include "stats.h"
#include "thread_budget.h"

namespace pm::pipeline {

struct JobConfig {
  int batch = 16;
  ThreadBudget threads;
  DecodeOptions decode;
  int embedding_output = 0;  // index of the embedding among the model's outputs
  bool normalize_l2 = false; // the pipeline L2-normalises (the card says the net does not)
  double progress_seconds = 5;
  bool quiet = false;
  std::int64_t total_hint = -1;
};

// Runs this rank's share of the splits to completion. Collective (shared counter,
// progress board). Returns the results of the splits this rank processed.
std::vector<SplitResults> run_rank(const Comm& comm, Source& source,
                                   const std::vector<SplitSpec>& splits,
                                   std::shared_ptr<const engine::Model> model,
                                   const ModelCard& card, const JobConfig& config,
                                   RankStats& stats);

}  // namespace pm::pipeline
