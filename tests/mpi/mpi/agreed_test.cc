// pm::agreed and friends: a failure on some ranks becomes the same AgreedError on every
// rank, naming the ranks that failed; success costs one vote; nobody is left waiting.
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/agreed.h"

namespace pm::test {
namespace {

class AgreedTest : public MpiTest {};

// The message every rank saw, or "" when nothing was thrown.
template <class F>
std::string agreed_message(const Comm& comm, const std::string& what, F&& f) {
  try {
    agreed(comm, what, std::forward<F>(f));
  } catch (const AgreedError& e) {
    return e.what();
  }
  return "";
}

TEST_F(AgreedTest, SuccessEverywhereReturns) {
  int ran = 0;
  EXPECT_NO_THROW(agreed(comm(), "step", [&] { ++ran; }));
  EXPECT_EQ(ran, 1);
}

TEST_F(AgreedTest, OneFailingRankFailsEveryRankAndIsNamed) {
  const int victim = comm().size() - 1;
  const std::string m = agreed_message(comm(), "reading x.h5", [&] {
    if (comm().rank() == victim) throw Error("row 7: key_length exceeds the key width");
  });
  EXPECT_EQ(m, "reading x.h5: rank " + std::to_string(victim) +
                   ": row 7: key_length exceeds the key width");
  // Same message on every rank (compared through a vote on the text).
  EXPECT_TRUE(comm().all_true(comm().broadcast(m) == m));
}

TEST_F(AgreedTest, AnyExceptionCounts) {
  const std::string m = agreed_message(comm(), "", [&] {
    if (comm().rank() == 0) throw std::out_of_range("stoll");
  });
  EXPECT_EQ(m, "rank 0: stoll");
}

TEST_F(AgreedTest, TheSameFailureEverywhereIsSaidOnce) {
  const std::string m = agreed_message(comm(), "options", [] { throw Error("--batch must be in 1..4096"); });
  EXPECT_EQ(m, "options: --batch must be in 1..4096");
}

TEST_F(AgreedTest, DifferentFailuresListEachWithItsRanks) {
  // Even ranks fail one way, odd ranks another.
  const std::string m = agreed_message(comm(), "w", [&] {
    throw Error(comm().rank() % 2 ? "odd" : "even");
  });
  std::string even = "0", odd = "1";
  for (int r = 2; r < comm().size(); ++r) (r % 2 ? odd : even) += ", " + std::to_string(r);
  const auto label = [](const std::string& list) {
    return std::string(list.find(',') == std::string::npos ? "rank " : "ranks ") + list;
  };
  EXPECT_EQ(m, "w: " + label(even) + ": even; " + label(odd) + ": odd");
}

TEST_F(AgreedTest, OnRootReturnsTheValueEverywhere) {
  EXPECT_EQ(agreed_on_root(comm(), "plan", [&] { return std::string("P") + std::to_string(comm().rank()); }),
            "P0");
  try {
    agreed_on_root(comm(), "plan", []() -> std::string { throw Error("no input"); });
    ADD_FAILURE() << "no error";
  } catch (const AgreedError& e) {
    EXPECT_EQ(std::string(e.what()), "plan: no input") << "only root ran it: no rank to name";
  }
  // Still in step afterwards.
  EXPECT_NO_THROW(agreed(comm(), "after", [] {}));
}

TEST(DescribeFailures, RanksAreListedAsRanges) {
  std::vector<std::string> m(8);
  for (int r : {0, 1, 2, 3, 5}) m[r] = "x";
  m[7] = "y";
  EXPECT_EQ(describe_failures("w", m), "w: ranks 0-3, 5: x; rank 7: y");
  EXPECT_EQ(describe_failures("", {"only"}), "only");
  std::vector<std::string> many(20);
  for (int r = 0; r < 20; ++r) many[r] = "m" + std::to_string(r);
  const std::string d = describe_failures("w", many);
  EXPECT_NE(d.find("rank 7: m7"), std::string::npos);
  EXPECT_EQ(d.find("rank 8: m8"), std::string::npos);
  EXPECT_NE(d.find("... and 12 more failing ranks"), std::string::npos) << d;
}

}  // namespace
}  // namespace pm::test
