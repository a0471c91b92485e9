#include "mpi_rank_links.h"

#include <cstdio>
#include <type_traits>

#include "pixelmill/agreed.h"

namespace pm::pipeline {

static_assert(WorkClaimer::kStopped == SharedCounter::kStopped);
static_assert(std::is_same_v<RoundVote::Values, Vote::Values>);

MpiRankLinks::MpiRankLinks(const Comm& comm, bool quiet, std::int64_t total_hint)
    : comm_(comm), counter_(comm), board_(comm), vote_(comm) {
  if (comm.rank() == 0 && !quiet) reporter_ = std::make_unique<ProgressReporter>(stderr, total_hint);
}

MpiRankLinks::~MpiRankLinks() = default;

std::int64_t MpiRankLinks::next() { return counter_.next(); }
void MpiRankLinks::stop() { counter_.stop(); }
bool MpiRankLinks::stopped() { return counter_.stopped(); }

void MpiRankLinks::start(const RoundVote::Values& mine) { vote_.start(mine); }
bool MpiRankLinks::running() const { return vote_.running(); }
bool MpiRankLinks::test() { return vote_.test(); }
const RoundVote::Values& MpiRankLinks::result() const { return vote_.result(); }

void MpiRankLinks::publish(const StatsSnapshot& mine) { board_.publish(mine); }
void MpiRankLinks::report(bool final_line) {
  if (reporter_) reporter_->report(board_.read_all(), final_line);
}

void MpiRankLinks::agree_on(const std::string& failure) { pm::agree_on(comm_, "", failure); }
bool MpiRankLinks::any(bool mine) { return comm_.allreduce_max(std::int64_t{mine ? 1 : 0}) > 0; }

}  // namespace pm::pipeline
