// pm::Comm::alltoall, pm::alltoallv_values and pm::alltoallv_packed: personalised
// exchanges, typed, with empty shares, padded records and records whose size is odd
// (1-byte words).
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/comm_values.h"

namespace pm::test {
namespace {

class AlltoallTest : public MpiTest {};

TEST_F(AlltoallTest, OneValueToEachRank) {
  std::vector<std::int64_t> out;
  for (int r = 0; r < comm().size(); ++r) out.push_back(comm().rank() * 1000 + r);
  const auto in = comm().alltoall(out);
  ASSERT_EQ(in.size(), out.size());
  for (int r = 0; r < comm().size(); ++r)
    EXPECT_EQ(in[static_cast<std::size_t>(r)], r * 1000 + comm().rank());
}

struct Note {  // 16 bytes with padding, as dedup's ScoreNote
  std::int64_t row;
  float score;
};

TEST_F(AlltoallTest, ValuesArriveInSenderOrder) {
  // Rank s sends (s + r) % 3 notes to rank r: some shares are empty.
  const int p = comm().size(), me = comm().rank();
  std::vector<std::vector<Note>> out(static_cast<std::size_t>(p));
  for (int r = 0; r < p; ++r)
    for (int k = 0; k < (me + r) % 3; ++k)
      out[static_cast<std::size_t>(r)].push_back({me * 100 + k, 0.5f * static_cast<float>(r)});
  const std::vector<Note> in = alltoallv_values(comm(), out);
  std::size_t at = 0;
  for (int s = 0; s < p; ++s)
    for (int k = 0; k < (s + me) % 3; ++k, ++at) {
      ASSERT_LT(at, in.size());
      EXPECT_EQ(in[at].row, s * 100 + k);
      EXPECT_EQ(in[at].score, 0.5f * static_cast<float>(me));
    }
  EXPECT_EQ(at, in.size());
}

TEST_F(AlltoallTest, OddSizedRecordsAndNothingAtAll) {
  using Three = std::array<char, 3>;
  const int p = comm().size();
  std::vector<std::vector<Three>> out(static_cast<std::size_t>(p));
  out[0].push_back({static_cast<char>(comm().rank()), 'x', 'y'});
  const std::vector<Three> in = alltoallv_values(comm(), out);
  if (comm().rank() == 0) {
    ASSERT_EQ(in.size(), static_cast<std::size_t>(p));
    for (int s = 0; s < p; ++s) EXPECT_EQ(in[static_cast<std::size_t>(s)][0], static_cast<char>(s));
  } else {
    EXPECT_TRUE(in.empty());
  }
  const std::vector<Three> none =
      alltoallv_values(comm(), std::vector<std::vector<Three>>(static_cast<std::size_t>(p)));
  EXPECT_TRUE(none.empty());
}

TEST_F(AlltoallTest, PackedValuesArriveAsFromSeparateVectors) {
  // The same shares once as one vector per rank and once packed in rank order into one
  // buffer (with spare room after them, as the IVF join's reused buffer has): the same
  // values arrive, and only the counted ones are sent.
  const int p = comm().size(), me = comm().rank();
  std::vector<std::vector<Note>> out(static_cast<std::size_t>(p));
  std::vector<Note> packed;
  std::vector<std::int64_t> counts;
  for (int r = 0; r < p; ++r) {
    for (int k = 0; k < (2 * me + r) % 4; ++k)
      out[static_cast<std::size_t>(r)].push_back({me * 1000 + r * 10 + k, static_cast<float>(k)});
    packed.insert(packed.end(), out[static_cast<std::size_t>(r)].begin(), out[static_cast<std::size_t>(r)].end());
    counts.push_back(static_cast<std::int64_t>(out[static_cast<std::size_t>(r)].size()));
  }
  const std::size_t used = packed.size();
  packed.resize(used + 5, Note{-1, -1.0f});
  const std::vector<Note> want = alltoallv_values(comm(), out);
  // A receive buffer longer than what arrives keeps its tail.
  std::vector<Note> got(want.size() + 3, Note{-7, -7.0f});
  const std::size_t n = alltoallv_packed(comm(), std::span<const Note>(packed.data(), used), counts, got);
  ASSERT_EQ(n, want.size());
  for (std::size_t i = n; i < got.size(); ++i) EXPECT_EQ(got[i].row, -7);
  got.resize(n);
  std::size_t expected = 0;
  for (int s = 0; s < p; ++s) expected += static_cast<std::size_t>((2 * s + me) % 4);
  EXPECT_EQ(got.size(), expected);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].row, want[i].row);
    EXPECT_EQ(got[i].score, want[i].score);
    EXPECT_EQ(got[i].row % 10, static_cast<std::int64_t>(got[i].score));
    EXPECT_EQ(got[i].row / 10 % 100, me);
  }
}

TEST_F(AlltoallTest, OneRankOverTheLimitThrowsOnEveryRank) {
  // Counts only (no data is read): rank 0 claims more than one call can carry. Every
  // rank must throw, or the others would wait in the exchange forever.
  const auto p = static_cast<std::size_t>(comm().size());
  std::vector<std::int64_t> send(p, 0), recv(p, 0);
  if (comm().rank() == 0) send[0] = std::int64_t{1} << 32;
  EXPECT_THROW(comm().alltoallv_raw(nullptr, send, nullptr, recv, 1), Error);
}

}  // namespace
}  // namespace pm::test
