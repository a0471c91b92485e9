// encode_splits / decode_splits: binary-safe round trips, and every damaged buffer is
// refused with pm::Error. Also the real use: rank 0 broadcasts its plan.
#include <string>
#include <vector>

#include "mpi_test_support.h"
#include "pixelmill/source.h"

namespace pm::test {
namespace {

std::string nasty_key(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 37 + seed) & 0xFF);
  s[0] = '\0';
  if (n > 1) s[n - 1] = static_cast<char>(0xFF);
  return s;
}

std::vector<SplitSpec> sample_plan() {
  std::vector<SplitSpec> plan;
  SplitSpec a;
  a.index = 0;
  a.start = "";
  a.stop = nasty_key(5000, 1);  // several KB with 0x00 and 0xFF
  a.estimated_records = -1;
  plan.push_back(a);
  SplitSpec b;
  b.index = 1;
  b.start = nasty_key(5000, 1);
  b.stop = std::string("\xFF\xFF\x00\x00", 4);
  b.items = {"photos/a.jpg", std::string("odd\0name\xFF", 9), "", nasty_key(4096, 9)};
  b.estimated_records = 123456789012;
  plan.push_back(b);
  SplitSpec c;
  c.index = 0xFFFFFFFFFFFFull;
  c.start = std::string(1, '\0');
  c.stop = "";
  c.estimated_records = 0;
  plan.push_back(c);
  return plan;
}

void expect_equal(const std::vector<SplitSpec>& got, const std::vector<SplitSpec>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, want[i].index) << i;
    EXPECT_TRUE(got[i].start == want[i].start) << i;
    EXPECT_TRUE(got[i].stop == want[i].stop) << i;
    EXPECT_TRUE(got[i].items == want[i].items) << i;
    EXPECT_EQ(got[i].estimated_records, want[i].estimated_records) << i;
  }
}

TEST(SplitCodec, RoundTripsBinaryKeys) {
  const auto plan = sample_plan();
  expect_equal(decode_splits(encode_splits(plan)), plan);
}

TEST(SplitCodec, EmptyPlan) { EXPECT_TRUE(decode_splits(encode_splits({})).empty()); }

TEST(SplitCodec, EveryTruncationThrows) {
  const std::string bytes = encode_splits(sample_plan());
  // Every prefix is shorter than a complete plan; step through all of the small ones
  // and a sample of the rest (the keys are long).
  for (std::size_t n = 0; n < bytes.size(); n += (n < 200 ? 1 : 97))
    EXPECT_THROW(decode_splits(bytes.substr(0, n)), Error) << "prefix " << n;
}

TEST(SplitCodec, GarbageThrows) {
  EXPECT_THROW(decode_splits("not a plan at all"), Error);
  std::string bytes = encode_splits(sample_plan());
  EXPECT_THROW(decode_splits(bytes + "x"), Error);  // trailing bytes
  // A split count far larger than the buffer could hold.
  std::string huge = encode_splits({});
  for (std::size_t i = 8; i < 16; ++i) huge[i] = static_cast<char>(0xFF);
  EXPECT_THROW(decode_splits(huge), Error);
}

class SplitCodecMpiTest : public MpiTest {};

TEST_F(SplitCodecMpiTest, PlanBroadcastFromRankZero) {
  const std::string bytes = comm().broadcast(comm().rank() == 0 ? encode_splits(sample_plan()) : "");
  expect_equal(decode_splits(bytes), sample_plan());
}

}  // namespace
}  // namespace pm::test
