// Memory that other ranks write and read without its owner taking part (MPI-3 one-sided
// communication, passive target): a rank publishes whenever it likes, the owner looks
// whenever it likes, and nobody waits in a collective. Each rank exposes `local_bytes`
// (0 allowed), zeroed before anyone can access it. Collective to create and to destroy
// (every rank destroys its window together); owns the window. Call from the rank's
// main thread only.
#pragma once

#include <mpi.h>

#include <cstddef>

#include "pixelmill/comm.h"

namespace pm {

class RmaWindow {
 public:
  RmaWindow(const Comm& comm, std::size_t local_bytes);
  ~RmaWindow();
  RmaWindow(const RmaWindow&) = delete;
  RmaWindow& operator=(const RmaWindow&) = delete;

  // Writes `bytes` from `data` at byte `offset` of `target`'s memory, complete at the
  // target on return. Exclusive: no other put or read of `target` overlaps it, so a
  // reader never sees half of one.
  void put(const void* data, std::size_t bytes, int target, std::size_t offset);
  // Copies `bytes` at `offset` of this rank's own memory into `out`, consistent with
  // every put that completed before (a shared lock on itself).
  void read_local(void* out, std::size_t bytes, std::size_t offset);
  std::size_t local_bytes() const { return local_bytes_; }

 private:
  MPI_Win win_ = MPI_WIN_NULL;
  std::byte* base_ = nullptr;
  std::size_t local_bytes_ = 0;
  int rank_ = 0;  // this rank in the window's communicator
};

}  // namespace pm
