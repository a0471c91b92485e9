#include "progress_board.h"

#include <algorithm>
#include <cstddef>

namespace pm::pipeline {

ProgressBoard::ProgressBoard(const Comm& comm)
    : comm_(comm),
      window_(comm, comm.rank() == 0 ? kSlotBytes * static_cast<std::size_t>(comm.size()) : 0) {}

void ProgressBoard::publish(const StatsSnapshot& mine) {
  window_.put(mine.v.data(), kSlotBytes, /*target=*/0,
              kSlotBytes * static_cast<std::size_t>(comm_.rank()));
}

std::vector<StatsSnapshot> ProgressBoard::read_all() {
  std::vector<StatsSnapshot> all(static_cast<std::size_t>(comm_.size()));
  // One read of every slot: one lock, and the snapshots are of one moment.
  std::vector<double> slots(all.size() * StatsSnapshot::kFields);
  window_.read_local(slots.data(), kSlotBytes * all.size(), 0);
  for (std::size_t r = 0; r < all.size(); ++r)
    std::copy_n(slots.begin() + static_cast<std::ptrdiff_t>(r * StatsSnapshot::kFields),
                StatsSnapshot::kFields, all[r].v.begin());
  return all;
}

}  // namespace pm::pipeline
