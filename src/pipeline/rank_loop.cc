#include "rank_loop.h"

#include <cstdio>
#include <thread>

namespace pm::pipeline {
namespace {
// The values of a vote (RoundVote::Values), each the maximum over ranks.
enum VoteValue : int {
  kWantRound = 0,  // 1: this rank wants a checkpoint round
  kWorking = 1,    // 1: this rank is not done yet
  kFailed = 2,     // 1: this rank failed
};
}  // namespace

RankLoop::RankLoop(const RankLinks& links, const Source& source, const JobConfig& cfg,
                   RankStats& stats, const LoopTiming& timing)
    : links_(links), source_(source), cfg_(cfg), stats_(stats), timing_(timing) {
  last_publish_ = last_report_ = last_look_ = last_round_ = last_balance_ = Clock::now();
}

void RankLoop::publish() {
  stats_.set_connection(source_.connection_counters());
  links_.progress.publish(StatsSnapshot::of(stats_));
}

// Sleep, then publish this rank's stats (every publish_every) and print progress (every
// --progress-seconds, where a line is printed); then look for a stop request.
void RankLoop::tick(RankStages& stages) {
  std::this_thread::sleep_for(timing_.idle_pause);
  if (Clock::now() - last_balance_ > timing_.balance_every) {
    stages.balance();
    stats_.set_decode_balance(stages.balance_summary());
    last_balance_ = Clock::now();
  }
  if (Clock::now() - last_publish_ > timing_.publish_every) {
    publish();
    last_publish_ = Clock::now();
  }
  if (Clock::now() - last_report_ > std::chrono::duration<double>(cfg_.progress_seconds)) {
    links_.progress.report(false);
    last_report_ = Clock::now();
  }
  const bool look = Clock::now() - last_look_ > timing_.look_every;
  if (look) last_look_ = Clock::now();
  poll_stop(stages, look);
}

// Stopping: this rank's own request (the signal flag, cheap to poll) is passed to the
// other ranks through the claimer; theirs arrive with the next claim or the periodic look
// at the claimer.
void RankLoop::begin_stop(RankStages& stages, bool asked_here) {
  if (stopping_) return;
  if (asked_here) links_.claimer.stop();
  stopping_ = true;
  stages.stop_reading();
  if (!cfg_.quiet)
    std::fprintf(stderr, "pixelmill extract: rank %d: %s; finishing the batches in flight\n",
                 links_.rank, asked_here ? "stop requested" : "another rank asked to stop");
}

void RankLoop::poll_stop(RankStages& stages, bool look_at_claimer) {
  if (stopping_) return;
  if (cfg_.stop_requested && cfg_.stop_requested())
    begin_stop(stages, true);
  else if (look_at_claimer && links_.claimer.stopped())
    begin_stop(stages, false);
}

bool RankLoop::want_round(RankStages& stages) const {
  if (!cfg_.sink) return false;  // rows are returned, not written in rounds
  const std::int64_t bytes = stages.tracker().completed_bytes();
  return bytes >= cfg_.checkpoint_bytes ||
         (bytes > 0 &&
          Clock::now() - last_round_ >= std::chrono::duration<double>(cfg_.checkpoint_seconds));
}

RankOutcome RankLoop::run(RankStages& stages, const std::vector<SplitSpec>& splits) {
  RoundVote& vote = links_.vote;
  auto last_vote = Clock::now() - timing_.vote_every;
  last_round_ = Clock::now();
  bool exhausted = false, someone_failed = false, voted_done = false;
  std::int64_t rounds = 0;
  while (true) {
    bool claimed = false;
    if (!exhausted && !stopping_ && !stages.failed()) {
      poll_stop(stages, false);
      if (!stopping_ && stages.wants_split()) {
        const std::int64_t next = links_.claimer.next();
        if (next >= WorkClaimer::kStopped) {
          begin_stop(stages, false);
        } else if (next < 0 || static_cast<std::size_t>(next) >= splits.size()) {
          exhausted = true;
          stages.end_of_splits();
        } else {
          stages.give(splits[static_cast<std::size_t>(next)]);
          claimed = true;
        }
      }
    }
    // Done here: nothing more to claim (or a stop or an error), and inference has ended.
    const bool done_here = (exhausted || stopping_ || stages.failed()) && stages.finished();
    // A rank that has just finished votes at once: the job's end does not wait for the
    // next vote_every.
    const bool just_done = done_here && !voted_done;
    if (!vote.running() && (just_done || Clock::now() - last_vote >= timing_.vote_every)) {
      voted_done = done_here;
      vote.start({want_round(stages) ? 1 : 0, done_here ? 0 : 1, stages.failed() ? 1 : 0, 0});
      last_vote = Clock::now();
    }
    if (vote.running() && vote.test()) {
      const RoundVote::Values r = vote.result();
      if (r[kFailed]) {
        someone_failed = true;
        break;
      }
      if (r[kWantRound] && cfg_.sink) {
        std::vector<SplitResults> round = stages.tracker().take_completed();
        cfg_.sink->write(round);
        last_round_ = Clock::now();
        ++rounds;
      }
      if (!r[kWorking]) break;  // every rank is done
      continue;
    }
    if (!claimed) tick(stages);
  }
  // A rank that failed voted so; the others stop their stages (without an error of their
  // own) and every rank joins its threads before agreeing on the failure.
  if (someone_failed && !stages.failed()) {
    stopping_ = true;
    stages.cancel();
  }
  stages.end_of_splits();
  stages.join();
  stats_.set_decode_balance(stages.balance_summary());
  publish();

  // Agree on success before anything collective follows: a rank that failed must not
  // leave the others waiting in a collective call.
  links_.agreement.agree_on(stages.error_message());
  links_.progress.report(true);

  RankOutcome outcome;
  outcome.stopped = links_.agreement.any(stopping_);
  // What completed since the last round: a last round (every rank takes part), or the
  // result when nothing is written in rounds. Splits cut short by a stop were dropped.
  outcome.done = stages.tracker().take_completed();
  if (cfg_.sink) {
    cfg_.sink->write(outcome.done);
    outcome.done.clear();
    ++rounds;
  }
  outcome.rounds = rounds;
  return outcome;
}

}  // namespace pm::pipeline
