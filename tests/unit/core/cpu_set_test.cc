// pm::allowed_cpus against the process's own affinity, and pm::cpu_share's arithmetic.
#include "pixelmill/cpu_set.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <numeric>

namespace pm {
namespace {

std::vector<int> range(int first, int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

TEST(AllowedCpus, AscendingDistinctAndNeverEmpty) {
  const std::vector<int> cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_TRUE(std::is_sorted(cpus.begin(), cpus.end()));
  EXPECT_EQ(std::adjacent_find(cpus.begin(), cpus.end()), cpus.end());
  EXPECT_GE(cpus.front(), 0);
}

TEST(AllowedCpus, FollowsTheAffinityMask) {
  // What `taskset -c N` or srun --cpu-bind does to a process, done to this one: the
  // answer must be the one CPU, not the machine's count.
  const std::vector<int> before = allowed_cpus();
  cpu_set_t saved;
  CPU_ZERO(&saved);
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(before.back(), &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const std::vector<int> pinned = allowed_cpus();
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(pinned, std::vector<int>{before.back()});
  EXPECT_EQ(allowed_cpus(), before) << "restored";
}

TEST(CpuShare, UnrestrictedNodeIsCoresPerRank) {
  const std::vector<int> all = range(0, 16);
  EXPECT_EQ(cpu_share(all, {all}), 16);
  EXPECT_EQ(cpu_share(all, {all, all, all, all}), 4);
  EXPECT_EQ(cpu_share(all, std::vector<std::vector<int>>(32, all)), 1) << "at least one";
  EXPECT_EQ(cpu_share(range(0, 2), {range(0, 2), range(0, 2), range(0, 2)}), 1);
}

TEST(CpuShare, DisjointBindingsKeepTheirOwnCpus) {
  // srun --cpu-bind=cores -c 4: four tasks, four CPUs each.
  const std::vector<std::vector<int>> node = {range(0, 4), range(4, 4), range(8, 4), range(12, 4)};
  for (const auto& mine : node) EXPECT_EQ(cpu_share(mine, node), 4);
  EXPECT_EQ(cpu_share({0}, {{0}, {1}}), 1) << "taskset -c 0";
}

TEST(CpuShare, SharedSocketsSplitEvenly) {
  // mpirun --bind-to socket, 4 ranks on 2 sockets of 8.
  const std::vector<int> s0 = range(0, 8), s1 = range(8, 8);
  EXPECT_EQ(cpu_share(s0, {s0, s0, s1, s1}), 4);
  EXPECT_EQ(cpu_share(s1, {s0, s0, s1, s1}), 4);
}

TEST(CpuShare, OverlapsCountAsSharers) {
  // A rank whose set overlaps two others' shares with both (and itself).
  EXPECT_EQ(cpu_share(range(0, 8), {range(0, 8), range(0, 4), range(4, 4)}), 2);
  EXPECT_EQ(cpu_share(range(0, 4), {range(0, 8), range(0, 4), range(4, 4)}), 2);
}

}  // namespace
}  // namespace pm
