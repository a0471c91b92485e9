// pm::RmaWindow: puts from every rank into slots on one rank, read there without any
// collective; memory starts zeroed.
#include <cstdint>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/rma_window.h"

namespace pm::test {
namespace {

class RmaWindowTest : public MpiTest {};

TEST_F(RmaWindowTest, StartsZeroed) {
  RmaWindow w(comm(), 64 + static_cast<std::size_t>(comm().rank()));
  EXPECT_EQ(w.local_bytes(), 64u + static_cast<std::size_t>(comm().rank()));
  std::vector<unsigned char> mine(w.local_bytes(), 0xAB);
  w.read_local(mine.data(), mine.size(), 0);
  EXPECT_EQ(mine, std::vector<unsigned char>(w.local_bytes(), 0));
}

TEST_F(RmaWindowTest, EveryRankPutsItsSlotOnTheHost) {
  // The progress board's pattern: rank 0 hosts one slot of 3 int64 per rank; every rank
  // publishes several times, rank 0 reads whenever it likes and finally sees the last.
  constexpr std::size_t kSlot = 3 * sizeof(std::int64_t);
  const int host = comm().size() - 1;  // not only rank 0
  const auto ranks = static_cast<std::size_t>(comm().size());
  RmaWindow w(comm(), comm().rank() == host ? kSlot * ranks : 0);
  for (std::int64_t round = 1; round <= 20; ++round) {
    const std::int64_t slot[3] = {comm().rank(), round, round * comm().rank()};
    w.put(slot, kSlot, host, kSlot * static_cast<std::size_t>(comm().rank()));
    if (comm().rank() == host) {
      // Each slot is whole: never half of one round and half of another.
      std::vector<std::int64_t> all(3 * ranks);
      w.read_local(all.data(), kSlot * ranks, 0);
      for (std::size_t r = 0; r < ranks; ++r)
        if (all[3 * r + 1] != 0) {
          EXPECT_EQ(all[3 * r], static_cast<std::int64_t>(r));
          EXPECT_EQ(all[3 * r + 2], all[3 * r + 1] * static_cast<std::int64_t>(r));
        }
    }
  }
  comm().barrier();  // every put is complete at the host when its call returned
  if (comm().rank() == host) {
    std::vector<std::int64_t> all(3 * ranks);
    w.read_local(all.data(), kSlot * ranks, 0);
    for (std::size_t r = 0; r < ranks; ++r) {
      EXPECT_EQ(all[3 * r], static_cast<std::int64_t>(r));
      EXPECT_EQ(all[3 * r + 1], 20);
    }
  }
}

TEST_F(RmaWindowTest, ReadPastTheEndThrows) {
  RmaWindow w(comm(), 8);
  char out[16];
  EXPECT_THROW(w.read_local(out, 16, 0), Error);
  EXPECT_THROW(w.read_local(out, 1, 9), Error);
}

}  // namespace
}  // namespace pm::test
