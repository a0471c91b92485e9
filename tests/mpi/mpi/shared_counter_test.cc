// pm::SharedCounter under contention: every value is handed out exactly once.
#include <algorithm>
#include <string>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/comm_values.h"

namespace pm::test {
namespace {

class SharedCounterTest : public MpiTest {};

// Every rank's claimed values, concatenated, sorted.
std::vector<std::int64_t> gather_sorted(const Comm& comm, const std::vector<std::int64_t>& mine) {
  std::vector<std::int64_t> all = allgatherv_values(comm, mine);
  std::sort(all.begin(), all.end());
  return all;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

TEST_F(SharedCounterTest, FixedClaimsPerRankCoverEachValueOnce) {
  constexpr int kPerRank = 2000;
  SharedCounter counter(comm());
  std::vector<std::int64_t> mine;
  for (int i = 0; i < kPerRank; ++i) mine.push_back(counter.next());
  EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end())) << "a rank's own claims increase";
  EXPECT_EQ(gather_sorted(comm(), mine), iota(std::int64_t{kPerRank} * comm().size()));
}

TEST_F(SharedCounterTest, DynamicClaimingUntilExhausted) {
  // The pipeline's pattern: claim split indices until past the plan's end. Rank 0
  // does extra work per claim so the others race ahead and claim more.
  constexpr std::int64_t kSplits = 5000;
  SharedCounter counter(comm());
  std::vector<std::int64_t> mine;
  volatile double sink = 0;
  for (std::int64_t v = counter.next(); v < kSplits; v = counter.next()) {
    mine.push_back(v);
    if (comm().rank() == 0)
      for (int k = 0; k < 2000; ++k) sink = sink + k;
  }
  EXPECT_EQ(gather_sorted(comm(), mine), iota(kSplits));
}

TEST_F(SharedCounterTest, EachCounterStartsAtZero) {
  for (int round = 0; round < 3; ++round) {
    SharedCounter counter(comm());
    const std::int64_t first = counter.next();
    EXPECT_EQ(gather_sorted(comm(), {first}), iota(comm().size())) << "round " << round;
  }
}

}  // namespace
}  // namespace pm::test
