// pm::SharedCounter: one int64 in an RMA window on rank 0, incremented with
// MPI_Fetch_and_op. A passive-target epoch (MPI_Win_lock_all) stays open for the
// counter's whole life so next() costs one atomic round trip to rank 0 and needs no
// participation from rank 0's application thread.
#include <cstdint>

#include "mpi_check.h"
#include "pixelmill/comm.h"

namespace pm {

SharedCounter::SharedCounter(const Comm& comm) {
  const MPI_Aint bytes = comm.rank() == 0 ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
  mpi::check(MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm.raw(), &base_,
                              &win_),
             "MPI_Win_allocate");
  mpi::check(MPI_Win_lock_all(MPI_MODE_NOCHECK, win_), "MPI_Win_lock_all");
  if (comm.rank() == 0) {
    // A local store into window memory becomes visible to RMA only after
    // MPI_Win_sync (separate memory model); the barrier keeps every other rank from
    // fetching before the store.
    *base_ = 0;
    mpi::check(MPI_Win_sync(win_), "MPI_Win_sync");
  }
  mpi::check(MPI_Barrier(comm.raw()), "MPI_Barrier");
}

SharedCounter::~SharedCounter() {
  if (win_ == MPI_WIN_NULL || mpi::finalized()) return;
  MPI_Win_unlock_all(win_);
  MPI_Win_free(&win_);  // collective: every rank destroys its counter together
}

std::int64_t SharedCounter::next() {
  const std::int64_t one = 1;
  std::int64_t previous = 0;
  mpi::check(MPI_Fetch_and_op(&one, &previous, MPI_INT64_T, /*target_rank=*/0,
                              /*target_disp=*/0, MPI_SUM, win_),
             "MPI_Fetch_and_op");
  mpi::check(MPI_Win_flush(0, win_), "MPI_Win_flush");
  return previous;
}

void SharedCounter::stop() {
  const std::int64_t add = kStopped;
  std::int64_t previous = 0;
  mpi::check(MPI_Fetch_and_op(&add, &previous, MPI_INT64_T, 0, 0, MPI_SUM, win_),
             "MPI_Fetch_and_op");
  mpi::check(MPI_Win_flush(0, win_), "MPI_Win_flush");
}

bool SharedCounter::stopped() {
  std::int64_t value = 0;
  mpi::check(MPI_Fetch_and_op(nullptr, &value, MPI_INT64_T, 0, 0, MPI_NO_OP, win_),
             "MPI_Fetch_and_op");
  mpi::check(MPI_Win_flush(0, win_), "MPI_Win_flush");
  return value >= kStopped;
}

}  // namespace pm
