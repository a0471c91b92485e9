// pm::h5::write_dedup at 2 and 4 ranks: contiguous group blocks (one rank empty),
// pairs spread over ranks, replacement on a second write, and collective failures.
#include <string>
#include <vector>

#include "h5_test_util.h"
#include "mpi_test_support.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"
#include "synthetic.h"

namespace pm::test {
namespace {

constexpr std::uint64_t kSplits = 23;

// Rows [begin, end) of rank r: rank 1 holds none, the others share evenly.
std::pair<std::int64_t, std::int64_t> block_of(const Comm& comm, std::int64_t n) {
  const int holders = comm.size() - 1;
  const int slot = comm.rank() == 0 ? 0 : comm.rank() - 1;
  if (comm.rank() == 1) return {n * 1 / holders, n * 1 / holders};  // empty, at rank 0's end
  return {n * slot / holders, n * (slot + 1) / holders};
}

// Groups of three consecutive rows; pairs (i, i+1) inside a group.
h5::DedupOutput dedup_for(const Comm& comm, std::int64_t n, bool with_pairs) {
  h5::DedupOutput out;
  const auto [begin, end] = block_of(comm, n);
  out.first_row = begin;
  for (std::int64_t i = begin; i < end; ++i) {
    out.group.push_back(i - i % 3);
    out.exact_group.push_back(i - i % 2);
    if (with_pairs && i % 3 != 2 && i + 1 < n) {
      out.pairs.push_back(i);
      out.pairs.push_back(i + 1);
      out.score.push_back(0.9f + 1e-4f * static_cast<float>(i));
    }
  }
  out.threshold = 0.875f;
  out.against_json = "[\"old.h5\"]";
  return out;
}

// A scalar attribute of /dedup, read with the plain HDF5 API.
double number_attribute(const std::string& path, const char* name) {
  double v = -1;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t attr = H5Aopen_by_name(file, layout::kDedup, name, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0) {
    H5Aread(attr, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(attr);
  }
  H5Fclose(file);
  return v;
}

class WriteDedupTest : public MpiTest {
 protected:
  void write_images(const std::string& path) {
    std::vector<SplitResults> mine;
    for (std::uint64_t s = 0; s < kSplits; ++s)
      if (static_cast<int>(s % static_cast<std::uint64_t>(comm().size())) == comm().rank())
        mine.push_back(synthetic_split(s));
    n_ = h5::write_images(comm(), path, kDim, mine, kSplits, h5::RunAttributes{});
  }
  std::int64_t n_ = 0;
};

TEST_F(WriteDedupTest, WritesAndReplaces) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/out.h5";
  write_images(path);
  ASSERT_GT(n_, 10);
  EXPECT_NO_THROW(h5::write_dedup(comm(), path, dedup_for(comm(), n_, true)));

  const RawDataset group = read_raw(path, layout::kGroup);
  const RawDataset exact = read_raw(path, layout::kExactGroup);
  const RawDataset pairs = read_raw(path, layout::kPairs);
  const RawDataset score = read_raw(path, layout::kScore);
  const auto n = static_cast<std::size_t>(n_);
  ASSERT_EQ(group.dims, std::vector<hsize_t>{n});
  ASSERT_EQ(exact.dims, std::vector<hsize_t>{n});
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(raw_at<std::int64_t>(group, i), static_cast<std::int64_t>(i - i % 3)) << i;
    EXPECT_EQ(raw_at<std::int64_t>(exact, i), static_cast<std::int64_t>(i - i % 2)) << i;
  }
  // Pairs in rank order = row order here, since blocks are in rank order.
  std::vector<std::int64_t> want;
  std::vector<float> want_score;
  std::int64_t multi = 0;
  for (std::int64_t i = 0; i < n_; ++i) {
    if (i % 3 != 2 && i + 1 < n_) {
      want.push_back(i);
      want.push_back(i + 1);
      want_score.push_back(0.9f + 1e-4f * static_cast<float>(i));
    }
    if (i % 3 == 0 && i + 1 < n_) ++multi;
  }
  ASSERT_EQ(pairs.dims, (std::vector<hsize_t>{want_score.size(), 2}));
  ASSERT_EQ(score.dims, std::vector<hsize_t>{want_score.size()});
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_EQ(raw_at<std::int64_t>(pairs, k), want[k]) << k;
  for (std::size_t k = 0; k < want_score.size(); ++k) EXPECT_EQ(raw_at<float>(score, k), want_score[k]) << k;
  EXPECT_FLOAT_EQ(static_cast<float>(number_attribute(path, "threshold")), 0.875f);
  EXPECT_EQ(number_attribute(path, "pairs"), static_cast<double>(want_score.size()));
  EXPECT_EQ(number_attribute(path, "groups"), static_cast<double>(multi));

  // A second run replaces /dedup: no pairs this time.
  EXPECT_NO_THROW(h5::write_dedup(comm(), path, dedup_for(comm(), n_, false)));
  EXPECT_EQ(read_raw(path, layout::kPairs).dims, (std::vector<hsize_t>{0, 2}));
  EXPECT_EQ(read_raw(path, layout::kScore).dims, std::vector<hsize_t>{0});
  EXPECT_EQ(read_raw(path, layout::kGroup).dims, std::vector<hsize_t>{n});
  EXPECT_EQ(number_attribute(path, "pairs"), 0.0);
  // /images is untouched.
  EXPECT_EQ(h5::row_count(path), n_);
  EXPECT_TRUE(h5::read_images(path, 0, n_).keys == h5::read_images(path, 0, n_).keys);
}

TEST_F(WriteDedupTest, EmptyFile) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/empty.h5";
  std::vector<SplitResults> none;
  if (comm().rank() == 0) none.push_back(SplitResults{0, {}});
  ASSERT_EQ(h5::write_images(comm(), path, kDim, none, 1, h5::RunAttributes{}), 0);
  EXPECT_NO_THROW(h5::write_dedup(comm(), path, dedup_for(comm(), 0, true)));
  EXPECT_EQ(read_raw(path, layout::kGroup).dims, std::vector<hsize_t>{0});
  EXPECT_EQ(read_raw(path, layout::kExactGroup).dims, std::vector<hsize_t>{0});
  EXPECT_EQ(read_raw(path, layout::kPairs).dims, (std::vector<hsize_t>{0, 2}));
  EXPECT_EQ(number_attribute(path, "pairs"), 0.0);
  EXPECT_EQ(number_attribute(path, "groups"), 0.0);
}

TEST_F(WriteDedupTest, BadInputThrowsOnEveryRank) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/out.h5";
  write_images(path);
  // Blocks that leave a gap.
  h5::DedupOutput gap = dedup_for(comm(), n_, true);
  // Rank 0 always holds rows (block_of): without its last one, row k-1 is nobody's. (The
  // last rank's block, shifted, was empty on 2 ranks: its pop_back was undefined, and the
  // huge size it left is what threw. ASan+UBSan found it.)
  if (comm().rank() == 0) {
    ASSERT_FALSE(gap.group.empty());
    gap.group.pop_back();
    gap.exact_group.pop_back();
    while (!gap.pairs.empty() && gap.pairs.back() >= gap.first_row + static_cast<std::int64_t>(gap.group.size())) {
      gap.pairs.resize(gap.pairs.size() - 2);
      gap.score.pop_back();
    }
  }
  EXPECT_THROW(h5::write_dedup(comm(), path, gap), Error);
  // Fewer group rows than image rows.
  h5::DedupOutput shortfall = dedup_for(comm(), n_ - 1, false);
  EXPECT_THROW(h5::write_dedup(comm(), path, shortfall), Error);
  // A reversed pair on rank 0 only.
  h5::DedupOutput reversed = dedup_for(comm(), n_, true);
  if (comm().rank() == 0) {
    reversed.pairs.push_back(5);
    reversed.pairs.push_back(2);
    reversed.score.push_back(1.0f);
  }
  EXPECT_THROW(h5::write_dedup(comm(), path, reversed), Error);
  // Still in step.
  EXPECT_NO_THROW(h5::write_dedup(comm(), path, dedup_for(comm(), n_, true)));
}

}  // namespace
}  // namespace pm::test
