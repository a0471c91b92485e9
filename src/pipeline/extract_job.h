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
  std::int64_t max_key_bytes = 4096;  // a longer key: a too_large row without its key
  int embedding_output = 0;  // index of the embedding among the model's outputs
  bool normalize_l2 = false; // the pipeline L2-normalises (the card says the net does not)
  double progress_seconds = 5;
  bool quiet = false;
  std::int64_t total_hint = -1;
  // Polled by the rank's main thread; true = stop early (SIGTERM). Empty = never.
  std::function<bool()> stop_requested;
  // Checkpoint rounds: when set, the completed splits are handed to `round` (on the main
  // thread, on every rank at once: it may be collective) whenever any rank holds more
  // than checkpoint_bytes of them or checkpoint_seconds have passed since the last round,
  // and once more at the end; the rows are released after it. Empty: the completed
  // splits are returned in RankOutcome::done.
  std::function<void(std::vector<SplitResults>&)> round;
  double checkpoint_seconds = 300;
  std::int64_t checkpoint_bytes = std::int64_t{256} << 20;
};

struct RankOutcome {
  std::vector<SplitResults> done;  // the splits this rank completed (no `round` only)
  bool stopped = false;            // agreed: some rank was asked to stop early
  std::int64_t rounds = 0;         // rounds handed to `round`, the last one included
};

// Runs this rank's share of `splits` (any subset of a plan; results keep each
// SplitSpec::index). Collective (shared counter, progress board).
//
// Stopping early: once any rank's stop_requested() is true, every rank learns it
// through the shared counter, claims nothing more, stops reading its splits, and
// finishes the records already read (the batches in flight). A split is the unit of
// completion: only splits read to their end are returned (or handed to a round); a
// split cut short is dropped and is processed again by a resumed run.
RankOutcome run_rank(const Comm& comm, Source& source,
                                   const std::vector<SplitSpec>& splits,
                                   std::shared_ptr<const engine::Model> model,
                                   const ModelCard& card, const JobConfig& config,
                                   RankStats& stats);

}  // namespace pm::pipeline
