// Rank 0's view of every rank's progress without collectives: each rank puts its
// StatsSnapshot into its slot of a window on rank 0 (MPI-3 passive-target RMA), so
// ranks publish whenever they like and rank 0 reads whenever it likes. Collective to
// create and destroy. Call from the rank's main thread only.
#pragma once

#include <mpi.h>

#include <vector>

#include "pixelmill/comm.h"
#include "stats.h"

namespace pm::pipeline {

class ProgressBoard {
 public:
  explicit ProgressBoard(const Comm& comm);
  ~ProgressBoard();
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  void publish(const StatsSnapshot& mine);
  // Rank 0 only: the latest snapshot of every rank.
  std::vector<StatsSnapshot> read_all();

 private:
  const Comm& comm_;
  MPI_Win win_ = MPI_WIN_NULL;
  double* base_ = nullptr;
};

}  // namespace pm::pipeline
