// What a rank's extraction is asked to do (JobConfig) and what it reports back
// (RankOutcome): shared by the stages, the rank's main loop and run_rank.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "pixelmill/decode.h"
#include "object_annotator.h"
#include "pixelmill/image_result.h"
#include "round_sink.h"
#include "thread_budget.h"

namespace pm::pipeline {

struct JobConfig {
  int batch = 16;
  ThreadBudget threads;
  DecodeOptions decode;
  std::int64_t max_key_bytes = 4096;  // a longer key: a too_large row without its key
  int embedding_output = 0;  // index of the embedding among the model's outputs
  bool normalize_l2 = false; // the pipeline L2-normalises (the card says the net does not)
  // extract --detector: each decode thread's annotator (detector and crop embedder); empty
  // without --detector.
  AnnotatorFactory make_annotator;
  double progress_seconds = 5;
  bool quiet = false;
  std::int64_t total_hint = -1;
  // Polled by the rank's main thread; true = stop early (SIGTERM). Empty = never.
  std::function<bool()> stop_requested;
  // Checkpoint rounds: when set, the completed splits are written to `sink` (on the main
  // thread, on every rank at once: it may be collective) whenever any rank holds more
  // than checkpoint_bytes of them or checkpoint_seconds have passed since the last round,
  // and once more at the end; the rows are released after it. Null: the completed
  // splits are returned in RankOutcome::done. Not owned.
  RoundSink* sink = nullptr;
  double checkpoint_seconds = 300;
  std::int64_t checkpoint_bytes = std::int64_t{256} << 20;
};

struct RankOutcome {
  std::vector<SplitResults> done;  // the splits this rank completed (no sink only)
  bool stopped = false;            // agreed: some rank was asked to stop early
  std::int64_t rounds = 0;         // rounds written to the sink, the last one included
};

}  // namespace pm::pipeline
