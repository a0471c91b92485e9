// The per-rank machinery of `extract`, composed of stage objects: reader threads (one
// split each, claimed by the main thread through a shared counter), decode threads
// (decode, hash, preprocess into a batch slot), one inference thread (the engine with its
// OpenMP threads), joined by bounded queues (rank_stages.h); the main thread's loop claims
// splits, publishes progress and votes with the other ranks (rank_loop.h). Exceptions
// inside threads are captured and turned into an error agreed by all ranks.
#pragma once

#include <memory>
#include <vector>

#include "embedder.h"
#include "job_config.h"
#include "pixelmill/comm.h"
#include "pixelmill/engine.h"
#include "pixelmill/model_card.h"
#include "pixelmill/source.h"
#include "rank_links.h"
#include "rank_loop.h"
#include "stats.h"
#include "thread_spawner.h"

namespace pm::pipeline {

// Runs this rank's share of `splits` (any subset of a plan; results keep each
// SplitSpec::index). Collective (shared counter, progress board, votes).
//
// Stopping early: once any rank's stop_requested() is true, every rank learns it
// through the shared counter, claims nothing more, stops reading its splits, and
// finishes the records already read (the batches in flight). A split is the unit of
// completion: only splits read to their end are returned (or written in a round); a
// split cut short is dropped and is processed again by a resumed run.
//
// Failing: an error in any thread of any rank (a split that cannot be read, a thread that
// cannot start) ends the run on every rank with the same pm::AgreedError, naming the
// failing ranks, once every rank has joined its threads. A record that cannot be decoded
// or embedded is not an error: its row gets a status.
RankOutcome run_rank(const Comm& comm, Source& source, const std::vector<SplitSpec>& splits,
                     std::shared_ptr<const engine::Model> model, const ModelCard& card,
                     const JobConfig& config, RankStats& stats);

// What run_rank runs on, given explicitly: the links to the other ranks, the network, how
// threads start, the loop's timing. run_rank passes MPI, the engine and std::thread; unit
// tests pass in-process fakes, several simulated ranks in one process.
struct RankParts {
  RankLinks links;
  EmbedderFactory make_embedder;
  ThreadSpawner spawn = spawn_thread;
  LoopTiming timing;
};

// run_rank on `parts` (same contract).
RankOutcome run_rank_with(const RankParts& parts, Source& source,
                          const std::vector<SplitSpec>& splits, const ModelCard& card,
                          const JobConfig& config, RankStats& stats);

}  // namespace pm::pipeline
