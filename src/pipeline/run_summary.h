// The end-of-job summary: counts by status, per-stage times, per-rank balance; printed
// on rank 0 and written as JSON (--metrics-json). Collective.
#pragma once

#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/extract.h"
#include "pixelmill/rank_cpus.h"
#include "precision_setup.h"
#include "stats.h"

namespace pm::pipeline {

struct SummaryInputs {
  double wall_seconds = 0;
  double write_seconds = 0;
  std::string output;
  std::string input;
  int embedding_dim = 0;
  int compute_threads = 0;
  int decode_threads = 0;    // decoding at once at the start
  int decode_started = 0;    // decode threads started
  bool decode_balanced = false;
  int readers = 0;
  std::int64_t rounds = 0;  // checkpoint rounds written
  RankCpus cpus;  // rank 0's: what the default thread counts were computed from
  PrecisionRecord precision;  // what --precision ran
};

// Gathers every rank's stats; rank 0 prints (unless quiet) and writes `metrics_json`.
ExtractSummary summarize(const Comm& comm, const RankStats& stats, const SummaryInputs& in,
                         const std::string& metrics_json, bool quiet);

}  // namespace pm::pipeline
