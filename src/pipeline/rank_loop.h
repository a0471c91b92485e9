// A rank's main thread during extraction, the only one that talks to other ranks (through
// RankLinks): it claims splits and feeds them to the stages, publishes progress, passes a
// stop request on, and takes part in a running vote every LoopTiming::vote_every on
// whether any rank wants a checkpoint round (its completed rows passed checkpoint_bytes,
// or checkpoint_seconds passed since the last round), whether any rank is still working,
// and whether any rank failed. Every rank sees the same results in the same order, so
// rounds, the end and a failure are acted on by all ranks together, and no rank waits in
// a collective for one that left.
#pragma once

#include <chrono>
#include <vector>

#include "job_config.h"
#include "pixelmill/source.h"
#include "rank_links.h"
#include "rank_stages.h"
#include "stats.h"

namespace pm::pipeline {

// How often the loop does things. The defaults are extract's; tests shorten them.
struct LoopTiming {
  std::chrono::milliseconds vote_every{200};     // a vote at most this often
  std::chrono::milliseconds idle_pause{20};      // sleep when nothing was claimed
  std::chrono::milliseconds publish_every{500};  // this rank's numbers to the progress board
  std::chrono::milliseconds look_every{500};     // the claimer checked for another rank's stop
  std::chrono::milliseconds balance_every{500};  // the decode/inference balance updated
};

class RankLoop {
 public:
  // `source` only for its connection counters (progress).
  RankLoop(const RankLinks& links, const Source& source, const JobConfig& cfg, RankStats& stats,
           const LoopTiming& timing = {});

  // Runs `stages` (started) over this rank's share of `splits` until every rank is done,
  // joins them, and agrees with the other ranks on the outcome: returns on every rank, or
  // throws the same pm::AgreedError on every rank when any failed. Stopping early: see
  // run_rank (extract_job.h).
  RankOutcome run(RankStages& stages, const std::vector<SplitSpec>& splits);

 private:
  using Clock = std::chrono::steady_clock;

  void tick(RankStages& stages);                      // idle: sleep, publish, report
  void poll_stop(RankStages& stages, bool look_at_claimer);
  void begin_stop(RankStages& stages, bool asked_here);
  bool want_round(RankStages& stages) const;
  void publish();

  RankLinks links_;
  const Source& source_;
  const JobConfig& cfg_;
  RankStats& stats_;
  const LoopTiming timing_;
  bool stopping_ = false;
  Clock::time_point last_publish_, last_report_, last_look_, last_round_, last_balance_;
};

}  // namespace pm::pipeline
