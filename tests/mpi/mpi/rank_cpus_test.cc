// pm::rank_cpus and Comm::node under mpirun: the figures agree with this process's own
// affinity and with the node communicator.
#include <algorithm>

#include "mpi_test_support.h"
#include "pixelmill/cpu_set.h"
#include "pixelmill/rank_cpus.h"

namespace pm::test {
namespace {

class RankCpusTest : public MpiTest {};

TEST_F(RankCpusTest, NodeCommunicatorHoldsThisNodesRanks) {
  const Comm node = comm().node();
  EXPECT_EQ(node.size(), comm().ranks_on_node());
  EXPECT_GE(node.size(), 1);
  EXPECT_LE(node.size(), comm().size());
  // Every rank of a node counts the same ranks.
  EXPECT_EQ(node.allreduce_min(std::int64_t{node.size()}), node.size());
}

TEST_F(RankCpusTest, ShareFollowsTheAffinityMasks) {
  const RankCpus c = rank_cpus(comm());
  EXPECT_EQ(c.allowed, static_cast<int>(allowed_cpus().size()));
  EXPECT_EQ(c.node_ranks, comm().ranks_on_node());
  EXPECT_GE(c.sharers, 1);
  EXPECT_LE(c.sharers, c.node_ranks);
  EXPECT_GE(c.share, 1);
  EXPECT_EQ(c.share, std::max(1, c.allowed / c.sharers));
}

}  // namespace
}  // namespace pm::test
