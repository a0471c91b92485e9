// Collective-safe failure: a rank that throws before a collective call would leave the
// others waiting in it forever. So every step that may fail on one rank only (checking
// inputs, packing buffers, allocating) runs inside agree(): afterwards all ranks know
// whether any rank failed, and if so all of them throw the same pm::Error together,
// before the next collective HDF5 call. Steps that fail the same way on every rank
// (HDF5 metadata calls on the shared file, checks on allgathered data) need no vote.
#pragma once

#include <exception>
#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace pm::h5 {

template <typename Step>
void agree(const Comm& comm, const std::string& what, Step&& step) {
  std::string failure;
  try {
    step();
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "unknown error";
  } catch (...) {
    failure = "unknown error";
  }
  if (comm.all_true(failure.empty())) return;
  const auto all = comm.allgatherv(failure);
  std::string message = what + " failed:";
  for (std::size_t r = 0; r < all.size(); ++r)
    if (!all[r].empty()) message += " [rank " + std::to_string(r) + "] " + all[r];
  throw Error(message);
}

}  // namespace pm::h5
