// Rank 0's view of every rank's progress without collectives: each rank puts its
// StatsSnapshot into its slot of a window on rank 0 (pm::RmaWindow, passive target), so
// ranks publish whenever they like and rank 0 reads whenever it likes. Collective to
// create and destroy. Call from the rank's main thread only.
#pragma once

#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/rma_window.h"
#include "stats.h"

namespace pm::pipeline {

class ProgressBoard {
 public:
  explicit ProgressBoard(const Comm& comm);
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  void publish(const StatsSnapshot& mine);
  // Rank 0 only: the latest snapshot of every rank.
  std::vector<StatsSnapshot> read_all();

 private:
  static constexpr std::size_t kSlotBytes = sizeof(double) * StatsSnapshot::kFields;
  const Comm& comm_;
  RmaWindow window_;  // rank 0: one slot per rank; the others expose nothing
};

}  // namespace pm::pipeline
