// How a rank's main loop (rank_loop.h) reaches the other ranks of its job: four small
// interfaces, implemented over MPI for `extract` (mpi_rank_links.h) and in-process for
// unit tests, where several simulated ranks run in one process without mpirun. Each
// keeps the contract of the MPI object it stands for; all are called from the rank's
// main thread only.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "stats.h"

namespace pm::pipeline {

// Dynamic claiming of splits (pm::SharedCounter): next() returns 0, 1, 2, ... across all
// ranks, each value once; once any rank called stop(), next() returns at least kStopped
// on every rank and stopped() is true.
class WorkClaimer {
 public:
  static constexpr std::int64_t kStopped = std::int64_t{1} << 62;
  virtual ~WorkClaimer() = default;
  virtual std::int64_t next() = 0;
  virtual void stop() = 0;
  virtual bool stopped() = 0;  // claims nothing
};

// A running vote without blocking (pm::Vote): every rank starts the same sequence of
// votes, each with its own values, and every rank gets the same element-wise maximum of
// each vote, in the same order. One vote at a time: start() only when none is running.
class RoundVote {
 public:
  static constexpr int kValues = 4;
  using Values = std::array<std::int64_t, kValues>;
  virtual ~RoundVote() = default;
  virtual void start(const Values& mine) = 0;
  virtual bool running() const = 0;
  // True once the running vote is decided; result() then holds it.
  virtual bool test() = 0;
  virtual const Values& result() const = 0;
};

// Progress for the user: every rank publishes its numbers now and then; report() prints
// the line over all ranks where one is printed (rank 0, not --quiet) and does nothing
// elsewhere.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void publish(const StatsSnapshot& mine) = 0;
  virtual void report(bool final_line) = 0;
};

// The blocking agreements that end a rank's run (pm::agree_on, an allreduce). Collective:
// every rank calls them, in the same order.
class RankAgreement {
 public:
  virtual ~RankAgreement() = default;
  // Returns when every rank's `failure` is "" ; otherwise throws pm::AgreedError on every
  // rank, with the message of pm::describe_failures("", failures).
  virtual void agree_on(const std::string& failure) = 0;
  // Whether `mine` is true on any rank.
  virtual bool any(bool mine) = 0;
};

// What one rank's loop is given: its rank number (for messages) and the four links.
struct RankLinks {
  int rank = 0;
  WorkClaimer& claimer;
  RoundVote& vote;
  ProgressSink& progress;
  RankAgreement& agreement;
};

}  // namespace pm::pipeline
