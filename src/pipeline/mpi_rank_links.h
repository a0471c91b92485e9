// The links of rank_links.h over MPI, for `extract`: the split counter (pm::SharedCounter),
// the progress board with rank 0's progress line, the running vote (pm::Vote) and
// pm::agree_on. Collective to create and to destroy (the counter's and the board's
// windows), in that order on every rank. Main thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "pixelmill/comm.h"
#include "pixelmill/vote.h"
#include "progress_board.h"
#include "progress_reporter.h"
#include "rank_links.h"

namespace pm::pipeline {

class MpiRankLinks final : WorkClaimer, RoundVote, ProgressSink, RankAgreement {
 public:
  // `quiet`: no progress line; `total_hint`: the records expected (-1 = unknown).
  MpiRankLinks(const Comm& comm, bool quiet, std::int64_t total_hint);
  MpiRankLinks(const MpiRankLinks&) = delete;
  MpiRankLinks& operator=(const MpiRankLinks&) = delete;
  ~MpiRankLinks() override;

  RankLinks links() { return RankLinks{comm_.rank(), *this, *this, *this, *this}; }

 private:
  // WorkClaimer
  std::int64_t next() override;
  void stop() override;
  bool stopped() override;
  // RoundVote
  void start(const RoundVote::Values& mine) override;
  bool running() const override;
  bool test() override;
  const RoundVote::Values& result() const override;
  // ProgressSink
  void publish(const StatsSnapshot& mine) override;
  void report(bool final_line) override;
  // RankAgreement
  void agree_on(const std::string& failure) override;
  bool any(bool mine) override;

  const Comm& comm_;
  SharedCounter counter_;
  ProgressBoard board_;
  std::unique_ptr<ProgressReporter> reporter_;  // rank 0 unless quiet
  Vote vote_;
};

}  // namespace pm::pipeline
