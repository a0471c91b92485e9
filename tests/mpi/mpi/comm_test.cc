// Each typed collective of pm::Comm, checked against values every rank can compute.
#include <mpi.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/comm_values.h"

namespace pm::test {
namespace {

class CommTest : public MpiTest {};

TEST_F(CommTest, RankAndSizeMatchMpi) {
  int rank = -1, size = -1;
  MPI_Comm_rank(comm().raw(), &rank);
  MPI_Comm_size(comm().raw(), &size);
  EXPECT_EQ(comm().rank(), rank);
  EXPECT_EQ(comm().size(), size);
  EXPECT_GE(comm().size(), 2) << "run under mpirun -np 2 or more";
  comm().barrier();
}

TEST_F(CommTest, ScalarReductions) {
  const int n = comm().size();
  const std::int64_t r = comm().rank();
  EXPECT_EQ(comm().allreduce_sum(r + 1), std::int64_t{n} * (n + 1) / 2);
  EXPECT_EQ(comm().allreduce_max(r * 10 - 7), std::int64_t{n - 1} * 10 - 7);
  EXPECT_EQ(comm().allreduce_min(r * 10 - 7), -7);
  // Values beyond 32 bits must survive (row counts of large runs).
  EXPECT_EQ(comm().allreduce_sum(std::int64_t{1} << 40), std::int64_t{n} << 40);
  EXPECT_DOUBLE_EQ(comm().allreduce_sum(0.5 * static_cast<double>(r)), 0.25 * n * (n - 1));
  EXPECT_DOUBLE_EQ(comm().allreduce_max(-1.5 + static_cast<double>(r)), n - 2.5);
}

TEST_F(CommTest, VectorReductionsAreElementWise) {
  const int n = comm().size();
  const std::int64_t r = comm().rank();
  std::vector<std::int64_t> iv = {r, 1, -r, std::int64_t{1} << 35};
  comm().allreduce_sum(iv);
  const std::int64_t tri = std::int64_t{n} * (n - 1) / 2;
  EXPECT_EQ(iv, (std::vector<std::int64_t>{tri, n, -tri, std::int64_t{n} << 35}));

  std::vector<double> dv = {0.25, static_cast<double>(r)};
  comm().allreduce_sum(dv);
  EXPECT_DOUBLE_EQ(dv[0], 0.25 * n);
  EXPECT_DOUBLE_EQ(dv[1], static_cast<double>(tri));

  std::vector<std::int64_t> empty;
  comm().allreduce_sum(empty);
  EXPECT_TRUE(empty.empty());
}

TEST_F(CommTest, MismatchedVectorLengthsThrowOnEveryRank) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(comm().rank() == 0 ? 3 : 2), 1);
  EXPECT_THROW(comm().allreduce_sum(v), Error);
}

TEST_F(CommTest, ExscanGivesRowOffsets) {
  // Rank r contributes r + 1 rows; its first row is the sum over lower ranks.
  const std::int64_t r = comm().rank();
  EXPECT_EQ(comm().exscan_sum(r + 1), r * (r + 1) / 2);
  EXPECT_EQ(comm().exscan_sum(0), 0);
}

TEST_F(CommTest, AllTrueIsLogicalAnd) {
  EXPECT_TRUE(comm().all_true(true));
  EXPECT_FALSE(comm().all_true(false));
  for (int bad = 0; bad < comm().size(); ++bad)
    EXPECT_FALSE(comm().all_true(comm().rank() != bad)) << "rank " << bad << " said false";
}

TEST_F(CommTest, AllgatherIsInRankOrder) {
  const auto all = comm().allgather(100 + comm().rank());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(comm().size()));
  for (int r = 0; r < comm().size(); ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)], 100 + r);
}

std::string binary_blob(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + static_cast<std::size_t>(seed) * 7) & 0xFF);
  return s;
}

TEST_F(CommTest, BroadcastIsBinarySafeFromAnyRoot) {
  for (int root : {0, comm().size() - 1}) {
    const std::string sent = binary_blob(3 << 20, root);  // 3 MiB with 0x00 and 0xFF
    const std::string got = comm().broadcast(comm().rank() == root ? sent : "ignored", root);
    EXPECT_EQ(got.size(), sent.size());
    EXPECT_TRUE(got == sent) << "root " << root;
  }
  EXPECT_EQ(comm().broadcast(comm().rank() == 0 ? "" : "not empty"), "");
}

TEST_F(CommTest, AllgathervConcatenatesInRankOrder) {
  // Rank r sends r * 1000 bytes: rank 0 sends nothing.
  const auto mine = binary_blob(static_cast<std::size_t>(comm().rank()) * 1000, comm().rank());
  const auto all = comm().allgatherv(mine);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(comm().size()));
  for (int r = 0; r < comm().size(); ++r)
    EXPECT_TRUE(all[static_cast<std::size_t>(r)] == binary_blob(static_cast<std::size_t>(r) * 1000, r)) << r;
  const auto none = comm().allgatherv("");
  EXPECT_EQ(none, std::vector<std::string>(static_cast<std::size_t>(comm().size())));
}

TEST_F(CommTest, AllgathervValuesKeepsTypesAndRankOrder) {
  struct Pair {
    std::int64_t split;
    std::int32_t rows;
  };
  // Rank r sends r pairs {r, k}: rank 0 sends none.
  std::vector<Pair> mine;
  for (int k = 0; k < comm().rank(); ++k) mine.push_back({comm().rank(), k});
  const std::vector<Pair> all = allgatherv_values(comm(), mine);
  std::size_t at = 0;
  for (int r = 0; r < comm().size(); ++r)
    for (int k = 0; k < r; ++k, ++at) {
      ASSERT_LT(at, all.size());
      EXPECT_EQ(all[at].split, r);
      EXPECT_EQ(all[at].rows, k);
    }
  EXPECT_EQ(at, all.size());
}

TEST_F(CommTest, DupOwnsACongruentCommunicatorAndMoves) {
  Comm owned = Comm::dup(comm().raw());
  int cmp = MPI_UNEQUAL;
  MPI_Comm_compare(owned.raw(), comm().raw(), &cmp);
  EXPECT_EQ(cmp, MPI_CONGRUENT);
  EXPECT_EQ(owned.rank(), comm().rank());

  MPI_Comm raw = owned.raw();
  Comm moved(std::move(owned));
  EXPECT_EQ(moved.raw(), raw);
  EXPECT_EQ(owned.raw(), MPI_COMM_NULL);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(moved.allreduce_sum(std::int64_t{1}), comm().size());

  Comm other = Comm::dup(comm().raw());
  other = std::move(moved);  // frees other's duplicate, takes moved's
  EXPECT_EQ(other.raw(), raw);
  other.barrier();
}

TEST_F(CommTest, BorrowedCommunicatorIsNotFreed) {
  { Comm borrowed(comm().raw()); borrowed.barrier(); }
  // Still usable after the borrower is gone.
  EXPECT_EQ(comm().allreduce_sum(std::int64_t{1}), comm().size());
}

TEST_F(CommTest, WorksOnASubCommunicator) {
  // Even and odd ranks: collectives stay within each half.
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(comm().raw(), comm().rank() % 2, comm().rank(), &half);
  {
    Comm sub = Comm::dup(half);
    const int expected = (comm().size() + 1 - comm().rank() % 2) / 2;
    EXPECT_EQ(sub.size(), expected);
    EXPECT_EQ(sub.allreduce_sum(std::int64_t{1}), expected);
    EXPECT_EQ(sub.rank(), comm().rank() / 2);
  }
  MPI_Comm_free(&half);
}

TEST(CommSetup, NullCommunicatorThrows) { EXPECT_THROW(Comm{MPI_COMM_NULL}, Error); }

}  // namespace
}  // namespace pm::test
