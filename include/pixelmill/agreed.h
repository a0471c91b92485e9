// A step that every rank runs and whose failure all ranks agree on: used before and around
// collective work, so that one rank's setup or I/O error never leaves the others waiting in
// a collective call. Collective over `comm`.
#pragma once

#include <exception>
#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace pm {

// Runs `f` on every rank; if it throws on any rank, every rank throws pm::Error with the
// first failing rank's message, prefixed by `what` (and that rank's number when size > 1).
template <class F>
void agreed(const Comm& comm, const std::string& what, F&& f) {
  std::string err;
  try {
    f();
  } catch (const std::exception& e) {
    err = e.what();
    if (err.empty()) err = "unknown error";
  }
  const auto all = comm.allgatherv(err);
  for (int r = 0; r < comm.size(); ++r)
    if (!all[r].empty())
      throw Error(what + (comm.size() > 1 ? " (rank " + std::to_string(r) + ")" : "") +
                  ": " + all[r]);
}

}  // namespace pm
