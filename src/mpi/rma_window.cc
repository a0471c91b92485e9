// pm::RmaWindow: MPI_Win_allocate, and one lock epoch per access. A put opens an
// exclusive epoch on the target and closes it, which completes the put there; a local
// read opens a shared epoch on itself, which also makes the public copy (what puts
// wrote) visible to the owner's loads in MPI's separate memory model.
#include "pixelmill/rma_window.h"

#include <climits>
#include <cstring>
#include <string>

#include "mpi_check.h"

namespace pm {

RmaWindow::RmaWindow(const Comm& comm, std::size_t local_bytes)
    : local_bytes_(local_bytes), rank_(comm.rank()) {
  PM_CHECK(local_bytes <= static_cast<std::size_t>(LLONG_MAX), "RMA window too large");
  mpi::check(MPI_Win_allocate(static_cast<MPI_Aint>(local_bytes), /*disp_unit=*/1, MPI_INFO_NULL,
                              comm.raw(), &base_, &win_),
             "MPI_Win_allocate");
  if (local_bytes > 0) {
    // Zeroed inside an epoch on itself, so the stores reach the window's public copy.
    mpi::check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank_, 0, win_), "MPI_Win_lock");
    std::memset(base_, 0, local_bytes);
    mpi::check(MPI_Win_unlock(rank_, win_), "MPI_Win_unlock");
  }
  comm.barrier();  // every rank's zeroing precedes every access
}

RmaWindow::~RmaWindow() {
  if (win_ != MPI_WIN_NULL && !mpi::finalized()) MPI_Win_free(&win_);
}

void RmaWindow::put(const void* data, std::size_t bytes, int target, std::size_t offset) {
  PM_CHECK(bytes <= static_cast<std::size_t>(INT_MAX), "RMA put of " + std::to_string(bytes) +
                                                           " bytes exceeds one MPI call");
  mpi::check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, target, 0, win_), "MPI_Win_lock");
  const int rc = MPI_Put(data, static_cast<int>(bytes), MPI_BYTE, target,
                         static_cast<MPI_Aint>(offset), static_cast<int>(bytes), MPI_BYTE, win_);
  // The epoch is closed even when the put failed: an open lock would block every later
  // access to `target`.
  const int rc_unlock = MPI_Win_unlock(target, win_);
  mpi::check(rc, "MPI_Put");
  mpi::check(rc_unlock, "MPI_Win_unlock");
}

void RmaWindow::read_local(void* out, std::size_t bytes, std::size_t offset) {
  PM_CHECK(offset <= local_bytes_ && bytes <= local_bytes_ - offset,
           "RMA read past the end of this rank's window");
  mpi::check(MPI_Win_lock(MPI_LOCK_SHARED, rank_, 0, win_), "MPI_Win_lock");
  if (bytes > 0) std::memcpy(out, base_ + offset, bytes);
  mpi::check(MPI_Win_unlock(rank_, win_), "MPI_Win_unlock");
}

}  // namespace pm
