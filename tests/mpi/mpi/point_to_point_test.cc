// pm::Request and the point-to-point calls: typed transfers around the ring of ranks,
// and requests destroyed or cancelled while pending. A pending receive that survived its
// owner would take the next message with its source and tag (into freed memory) and
// leave the receive meant for it waiting forever: the CTest TIMEOUT turns that into a
// failure instead of a stalled run.
#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/point_to_point.h"

namespace pm::test {
namespace {

class PointToPointTest : public MpiTest {
 protected:
  int left() const { return (comm().rank() + comm().size() - 1) % comm().size(); }
  int right() const { return (comm().rank() + 1) % comm().size(); }

  // One real message from the left neighbour with `tag`: what a lingering receive with
  // that source and tag would steal.
  void expect_clean_exchange(int tag) {
    const std::vector<std::int64_t> mine = {1000 + comm().rank()};
    std::vector<std::int64_t> got(1, -1);
    Request in = irecv(comm(), got, left(), tag);
    Request out = isend(comm(), mine, right(), tag);
    EXPECT_EQ(in.wait(), 1u);
    EXPECT_EQ(out.wait(), 1u);
    EXPECT_EQ(got[0], 1000 + left());
  }
};

TEST_F(PointToPointTest, RingTransferCountsValues) {
  // Rank r sends r + 1 values of r*100+k to the right; receive buffers are larger than
  // any message, and wait() says how many came.
  std::vector<double> mine;
  for (int k = 0; k <= comm().rank(); ++k) mine.push_back(comm().rank() * 100.0 + k);
  std::vector<double> got(static_cast<std::size_t>(comm().size()) + 3, -1.0);
  Request in = irecv(comm(), got, left(), 11);
  Request out = isend(comm(), mine, right(), 11);
  EXPECT_TRUE(in.pending());
  const std::size_t n = in.wait();
  EXPECT_EQ(out.wait(), mine.size());
  EXPECT_FALSE(in.pending());
  ASSERT_EQ(n, static_cast<std::size_t>(left()) + 1);
  for (std::size_t k = 0; k < n; ++k) EXPECT_EQ(got[k], left() * 100.0 + static_cast<double>(k));
  EXPECT_EQ(in.wait(), 0u) << "an empty request waits for nothing";
}

TEST_F(PointToPointTest, EmptyMessagesAndSpans) {
  const std::array<std::int64_t, 4> four = {1, 2, 3, 4};
  std::vector<std::int64_t> got(4, 0);
  // A span is a view: it may be passed as a temporary.
  Request in = irecv(comm(), std::span(got).first(2), left(), 12);
  Request out = isend(comm(), std::span(four).first(0), right(), 12);
  EXPECT_EQ(in.wait(), 0u);
  EXPECT_EQ(out.wait(), 0u);
  EXPECT_EQ(got, (std::vector<std::int64_t>{0, 0, 0, 0}));
}

TEST_F(PointToPointTest, DestroyedPendingReceiveIsCancelled) {
  constexpr int kTag = 13;
  {
    std::vector<std::int64_t> never(4, -1);
    Request lost = irecv(comm(), never, left(), kTag);
    EXPECT_TRUE(lost.pending());
  }  // nobody sent: the destructor cancels and frees the receive
  // Many more, as a ring join that fails at every step would leave them.
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::int64_t> never(1);
    Request lost = irecv(comm(), never, left(), kTag);
  }
  comm().barrier();
  expect_clean_exchange(kTag);
}

TEST_F(PointToPointTest, ExceptionUnwindingCancelsPendingTransfers) {
  // The ring join's shape: receives and a send posted, then the work in between throws.
  constexpr int kTag = 14;
  auto step = [&] {
    std::vector<float> buffer(1024);
    std::array<Request, 2> req;
    req[0] = irecv(comm(), buffer, left(), kTag);
    req[1] = irecv(comm(), buffer, right(), kTag + 1);
    throw Error("the join failed");
  };
  EXPECT_THROW(step(), Error);
  comm().barrier();
  expect_clean_exchange(kTag);
}

TEST_F(PointToPointTest, CancelSaysWhetherItCancelled) {
  constexpr int kTag = 15;
  std::vector<std::int64_t> never(2);
  Request r = irecv(comm(), never, left(), kTag);
  EXPECT_TRUE(r.cancel());
  EXPECT_FALSE(r.pending());
  EXPECT_FALSE(r.cancel()) << "nothing left to cancel";
  EXPECT_EQ(r.wait(), 0u);

  // A receive that has its message already cannot be cancelled: the data is there.
  const std::vector<std::int64_t> mine = {7};
  std::vector<std::int64_t> got(1, 0);
  Request in = irecv(comm(), got, comm().rank(), kTag + 1);
  Request out = isend(comm(), mine, comm().rank(), kTag + 1);
  out.wait();
  in.wait();
  EXPECT_EQ(got[0], 7);
  comm().barrier();
  expect_clean_exchange(kTag);
}

TEST_F(PointToPointTest, MoveAssignmentCancelsTheOverwrittenTransfer) {
  constexpr int kTag = 16;
  std::vector<std::int64_t> never(1);
  Request r = irecv(comm(), never, left(), kTag);
  Request moved = std::move(r);
  EXPECT_FALSE(r.pending());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_TRUE(moved.pending());
  moved = Request();  // the pending receive is cancelled, not dropped
  EXPECT_FALSE(moved.pending());
  comm().barrier();
  expect_clean_exchange(kTag);
}

TEST_F(PointToPointTest, BlockingValuesOfAnyLengthDownATree) {
  // components()'s pattern: pairs (16 bytes, not trivially copyable as std::pair) sent
  // down a binary tree to rank 0; rank r sends r * 3 pairs (rank 0 none).
  using Edge = std::pair<std::int64_t, std::int64_t>;
  std::vector<Edge> held;
  for (int k = 0; k < comm().rank() * 3; ++k) held.push_back({comm().rank(), k});
  const int p = comm().size(), r = comm().rank();
  for (int d = 1; d < p; d *= 2) {
    if (r % (2 * d) == d) {
      send_values(comm(), held, r - d, 17);
      held.clear();
      break;
    }
    if (r % (2 * d) == 0 && r + d < p)
      for (const Edge& e : recv_values<Edge>(comm(), r + d, 17)) held.push_back(e);
  }
  if (r == 0) {
    std::size_t expected = 0;
    for (int q = 0; q < p; ++q) expected += static_cast<std::size_t>(q) * 3;
    EXPECT_EQ(held.size(), expected);
    for (const Edge& e : held) EXPECT_LT(e.second, e.first * 3);
  }
  comm().barrier();
}

TEST(PointToPointLimits, OversizedMessageThrowsBeforePosting) {
  // INT_MAX words is the most one call moves; the count is checked, nothing is read.
  const char one = 0;
  EXPECT_THROW(isend_raw(world(), &one, std::size_t{1} << 31, 1, world().rank(), 18), Error);
  // Counted in words (8 bytes here): 2^30 values of 16 bytes are 2^31 words, too many;
  // 2^31 doubles likewise.
  EXPECT_THROW(irecv_raw(world(), nullptr, std::size_t{1} << 30, 16, world().rank(), 18), Error);
  EXPECT_THROW(isend_raw(world(), &one, std::size_t{1} << 31, 8, world().rank(), 18), Error);
}

}  // namespace
}  // namespace pm::test
