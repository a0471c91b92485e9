// Agreement on rank-local failures: the one way a step that may fail on some ranks only
// (reading a file, a --config file, a directory check, rank 0 writing a report) is run
// before the next collective call. A rank that threw alone would leave the others
// waiting in that collective forever; after agreed() every rank knows whether any rank
// failed, and if one did, every rank throws the same pm::AgreedError together.
//
// Steps that fail the same way on every rank without communication (checks on
// allgathered data, options already agreed) need no vote. Broken invariants are not
// failures to agree on: they end the job with PM_ASSERT (error.h).
//
// All functions here are collective over `comm`: every rank must call them, in the same
// order. The cost is one MPI_Allreduce of an int when every rank succeeds; the failures'
// messages are gathered only when some rank failed.
#pragma once

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace pm {

// Thrown by the functions below, on every rank at once, with the same message. main()
// relies on the type: an AgreedError is known to every rank, so rank 0 prints it once
// and all ranks exit 1 together; any other error reaching main may be this rank's alone.
class AgreedError : public Error {
 public:
  using Error::Error;
};

// The vote. `failure` is this rank's error message ("" = this rank succeeded). Returns
// when every rank succeeded; otherwise throws AgreedError(describe_failures(what, all)).
void agree_on(const Comm& comm, const std::string& what, const std::string& failure);

// The message of a failed vote, `per_rank[r]` being rank r's message ("" = no failure):
// "WHAT: MESSAGE" when every rank failed alike (or there is one rank); otherwise each
// distinct message with the ranks that had it: "WHAT: rank 1: M1; ranks 0, 2-3: M2".
// Long lists are cut after a few distinct messages ("... and N more ranks").
std::string describe_failures(const std::string& what, const std::vector<std::string>& per_rank);

// Runs `step` on every rank and agrees on the outcome (see agree_on). Any exception of
// the step counts as a failure; an AgreedError from a nested agreement too (all ranks
// have it then, so they all vote failure alike).
template <class Step>
void agreed(const Comm& comm, const std::string& what, Step&& step) {
  std::string failure;
  try {
    std::forward<Step>(step)();
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "unknown error";
  } catch (...) {
    failure = "unknown error";
  }
  agree_on(comm, what, failure);
}

// The vote of a step that `root` ran alone: root's `failure` ("" = success) is sent to
// every rank, and a failure is thrown everywhere as AgreedError("WHAT: MESSAGE"). Only
// root can have failed, so no rank is named.
void agree_on_root(const Comm& comm, const std::string& what, const std::string& failure,
                   int root = 0);

// Runs `step` on `root` only (a step that only one rank does: planning, listing a
// directory, writing a report or a metrics file) and agrees on its outcome; returns the
// string it returned, on every rank. The other ranks wait in the vote.
template <class Step>
std::string agreed_on_root(const Comm& comm, const std::string& what, Step&& step,
                           int root = 0) {
  std::string value, failure;
  if (comm.rank() == root) {
    try {
      value = std::forward<Step>(step)();
    } catch (const std::exception& e) {
      failure = e.what();
      if (failure.empty()) failure = "unknown error";
    } catch (...) {
      failure = "unknown error";
    }
  }
  agree_on_root(comm, what, failure, root);
  return comm.broadcast(std::move(value), root);
}

}  // namespace pm
