#include "progress_board.h"

#include <cstring>

#include "pixelmill/error.h"

namespace pm::pipeline {

ProgressBoard::ProgressBoard(const Comm& comm) : comm_(comm) {
  const MPI_Aint bytes = comm.rank() == 0
      ? static_cast<MPI_Aint>(sizeof(double)) * StatsSnapshot::kFields * comm.size() : 0;
  int rc = MPI_Win_allocate(bytes, sizeof(double), MPI_INFO_NULL, comm.raw(), &base_, &win_);
  PM_CHECK(rc == MPI_SUCCESS, "MPI_Win_allocate for the progress board failed");
  if (comm.rank() == 0) std::memset(base_, 0, static_cast<std::size_t>(bytes));
  comm.barrier();  // rank 0's zeroing precedes every put
}

ProgressBoard::~ProgressBoard() {
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
}

void ProgressBoard::publish(const StatsSnapshot& mine) {
  MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win_);
  MPI_Put(mine.v.data(), StatsSnapshot::kFields, MPI_DOUBLE, 0,
          static_cast<MPI_Aint>(comm_.rank()) * StatsSnapshot::kFields, StatsSnapshot::kFields,
          MPI_DOUBLE, win_);
  MPI_Win_unlock(0, win_);
}

std::vector<StatsSnapshot> ProgressBoard::read_all() {
  std::vector<StatsSnapshot> all(comm_.size());
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_);
  for (int r = 0; r < comm_.size(); ++r)
    std::memcpy(all[r].v.data(), base_ + static_cast<std::size_t>(r) * StatsSnapshot::kFields,
                sizeof(double) * StatsSnapshot::kFields);
  MPI_Win_unlock(0, win_);
  return all;
}

}  // namespace pm::pipeline
