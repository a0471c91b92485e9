// pm::h5::write_images at 2 and 4 ranks: splits spread unevenly (one rank holds none,
// each rank's splits out of order), then every row read back and compared.
#include <algorithm>
#include <cctype>
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

// Rank 1 holds nothing; the others get splits by a scattered rule, in reverse order.
std::vector<SplitResults> my_splits(const Comm& comm, std::uint64_t total) {
  std::vector<SplitResults> mine;
  for (std::uint64_t s = total; s-- > 0;) {
    int owner = static_cast<int>((s * 7 + 3) % static_cast<std::uint64_t>(comm.size()));
    if (owner == 1) owner = 0;
    if (owner == comm.rank()) mine.push_back(synthetic_split(s));
  }
  return mine;
}

h5::RunAttributes sample_attributes() {
  h5::RunAttributes a;
  a.version = "0.1.0-test";
  a.command_line = "pixelmill extract --input dir:/photos";
  a.model_card_json = "{\"name\": \"sscd\", \"note\": \"" + std::string(100000, 'm') + "\"}";
  a.model_card_sha256 = std::string(64, 'a');
  a.model_sha256 = std::string(64, 'b');
  a.parameters_json = "{\"batch\": 32}";
  return a;
}

// "YYYY-MM-DDTHH:MM:SSZ"
bool looks_like_utc(const std::string& s) {
  const std::string shape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != shape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) return false;
  return true;
}

class WriteImagesTest : public MpiTest {};

TEST_F(WriteImagesTest, EveryRowLandsInSplitOrder) {
  SharedTempDir dir(comm());
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/out.h5";
  const auto expected = expected_rows(kSplits);

  std::int64_t n = -1;
  EXPECT_NO_THROW(n = h5::write_images(comm(), path, kDim, my_splits(comm(), kSplits), kSplits,
                                       sample_attributes()));
  EXPECT_EQ(n, static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(h5::row_count(path), static_cast<std::int64_t>(expected.size()));

  // Every rank reads everything back through pm::h5::read_images.
  const h5::ImageRows got = h5::read_images(path, 0, static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(got.first_row, 0);
  EXPECT_EQ(got.total_rows, static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(got.embedding_dim, kDim);
  ASSERT_EQ(got.keys.size(), expected.size());
  ASSERT_EQ(got.embedding.size(), expected.size() * kDim);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const ImageResult& e = expected[i];
    EXPECT_TRUE(got.keys[i] == e.key) << "row " << i;
    EXPECT_EQ(got.status[i], static_cast<std::uint8_t>(e.status.code)) << "row " << i;
    for (int d = 0; d < kDim; ++d)
      EXPECT_EQ(got.embedding[i * kDim + static_cast<std::size_t>(d)],
                e.embedding.empty() ? 0.0f : e.embedding[static_cast<std::size_t>(d)])
          << "row " << i << " dim " << d;
    EXPECT_EQ(got.content_hash[i], e.content_hash) << "row " << i;
    EXPECT_EQ(got.phash[i], e.phash) << "row " << i;
  }

  // The datasets the reader does not return, checked with the plain HDF5 API.
  const RawDataset error = read_raw(path, layout::kError);
  const RawDataset width = read_raw(path, layout::kWidth);
  const RawDataset height = read_raw(path, layout::kHeight);
  const RawDataset stamp = read_raw(path, layout::kTimestamp);
  const RawDataset key = read_raw(path, layout::kKey);
  ASSERT_EQ(error.element_size, layout::kErrorLength);
  ASSERT_EQ(error.bytes.size(), expected.size() * layout::kErrorLength);
  ASSERT_EQ(width.bytes.size(), expected.size() * 4);
  ASSERT_EQ(stamp.bytes.size(), expected.size() * 8);
  std::size_t longest = 0;
  for (const ImageResult& e : expected) longest = std::max(longest, e.key.size());
  ASSERT_EQ(key.dims, (std::vector<hsize_t>{expected.size(), longest}));
  EXPECT_TRUE(key.chunked && error.chunked && width.chunked);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char* field = reinterpret_cast<const char*>(error.bytes.data()) + i * layout::kErrorLength;
    const std::string text(field, strnlen(field, layout::kErrorLength));
    EXPECT_EQ(text, expected_error(expected[i].status.message)) << "row " << i;
    EXPECT_EQ(raw_at<std::int32_t>(width, i), expected[i].width);
    EXPECT_EQ(raw_at<std::int32_t>(height, i), expected[i].height);
    EXPECT_EQ(raw_at<std::int64_t>(stamp, i), expected[i].timestamp);
    // Key padding is zeros.
    for (std::size_t b = expected[i].key.size(); b < longest; ++b)
      EXPECT_EQ(key.bytes[i * longest + b], 0) << "row " << i;
  }

  const auto attrs = h5::read_root_attributes(path);
  const auto a = sample_attributes();
  EXPECT_EQ(attrs.at("pixelmill_version"), a.version);
  EXPECT_EQ(attrs.at("command_line"), a.command_line);
  EXPECT_EQ(attrs.at("model_card"), a.model_card_json);  // over the 64 KiB header limit
  EXPECT_EQ(attrs.at("model_card_sha256"), a.model_card_sha256);
  EXPECT_EQ(attrs.at("model_sha256"), a.model_sha256);
  EXPECT_EQ(attrs.at("parameters"), a.parameters_json);
  // The counts are the file's own: the statuses of the rows it holds.
  std::int64_t ok = 0, corrupt = 0;
  for (const ImageResult& r : expected) (r.status.is_ok() ? ok : corrupt)++;
  EXPECT_NE(attrs.at("counts").find("\"ok\":" + std::to_string(ok)), std::string::npos) << attrs.at("counts");
  EXPECT_NE(attrs.at("counts").find("\"corrupt\":" + std::to_string(corrupt)), std::string::npos)
      << attrs.at("counts");
  EXPECT_EQ(attrs.at("embedding_dim"), std::to_string(kDim));
  EXPECT_EQ(attrs.at("rows"), std::to_string(expected.size()));
  EXPECT_TRUE(looks_like_utc(attrs.at("created_utc"))) << attrs.at("created_utc");
}

TEST_F(WriteImagesTest, PartialReadsMatch) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/out.h5";
  const auto expected = expected_rows(kSplits);
  h5::write_images(comm(), path, kDim, my_splits(comm(), kSplits), kSplits, sample_attributes());
  // Each rank reads its own ragged block, the way dedup will.
  const auto n = static_cast<std::int64_t>(expected.size());
  const std::int64_t begin = n * comm().rank() / comm().size() + (comm().rank() % 2);
  const std::int64_t end = n * (comm().rank() + 1) / comm().size();
  const h5::ImageRows got = h5::read_images(path, begin, end, /*with_embeddings=*/false);
  EXPECT_EQ(got.first_row, begin);
  EXPECT_EQ(got.total_rows, n);
  EXPECT_EQ(got.embedding_dim, kDim);
  EXPECT_TRUE(got.embedding.empty());
  ASSERT_EQ(got.keys.size(), static_cast<std::size_t>(end - begin));
  for (std::int64_t i = begin; i < end; ++i) {
    EXPECT_TRUE(got.keys[static_cast<std::size_t>(i - begin)] == expected[static_cast<std::size_t>(i)].key) << i;
    EXPECT_EQ(got.phash[static_cast<std::size_t>(i - begin)], expected[static_cast<std::size_t>(i)].phash) << i;
  }
  EXPECT_THROW(h5::read_images(path, 0, n + 1), Error);
  EXPECT_THROW(h5::read_images(path, 5, 4), Error);
  EXPECT_THROW(h5::read_images(path, -1, 2), Error);
}

TEST_F(WriteImagesTest, NoRowsAtAll) {
  SharedTempDir dir(comm());
  for (std::uint64_t total : {std::uint64_t{0}, std::uint64_t{4}}) {
    const std::string path = dir.path() + "/empty" + std::to_string(total) + ".h5";
    // Splits that exist but hold no rows (split 1 and 4 of the synthetic plan are
    // empty; here every split is emptied).
    std::vector<SplitResults> mine;
    for (std::uint64_t s = 0; s < total; ++s)
      if (static_cast<int>(s % static_cast<std::uint64_t>(comm().size())) == comm().rank())
        mine.push_back(SplitResults{s, {}});
    std::int64_t n = -1;
    EXPECT_NO_THROW(n = h5::write_images(comm(), path, kDim, mine, total, sample_attributes()));
    EXPECT_EQ(n, 0);
    EXPECT_EQ(h5::row_count(path), 0);
    const h5::ImageRows got = h5::read_images(path, 0, 0);
    EXPECT_EQ(got.total_rows, 0);
    EXPECT_EQ(got.embedding_dim, kDim);
    EXPECT_TRUE(got.keys.empty());
    EXPECT_EQ(read_raw(path, layout::kKey).dims, (std::vector<hsize_t>{0, 1}));  // K >= 1
    EXPECT_EQ(h5::read_root_attributes(path).at("rows"), "0");
  }
}

TEST_F(WriteImagesTest, RewriteTruncates) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/out.h5";
  h5::write_images(comm(), path, kDim, my_splits(comm(), kSplits), kSplits, sample_attributes());
  const std::int64_t n = h5::write_images(comm(), path, kDim, my_splits(comm(), 3), 3, sample_attributes());
  EXPECT_EQ(n, static_cast<std::int64_t>(expected_rows(3).size()));
  EXPECT_EQ(h5::row_count(path), n);
}

TEST_F(WriteImagesTest, BadInputThrowsOnEveryRank) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/bad.h5";
  // One rank holds a row with the wrong embedding size: every rank throws, nobody hangs.
  const int victim = comm().size() > 2 ? comm().size() - 1 : 0;
  auto mine = my_splits(comm(), kSplits);
  if (comm().rank() == victim)
    for (SplitResults& s : mine)
      if (!s.rows.empty()) {
        s.rows.front().embedding.assign(kDim + 1, 1.0f);
        break;
      }
  EXPECT_THROW(h5::write_images(comm(), path, kDim, mine, kSplits, sample_attributes()), Error);

  // A split held by two ranks, and a split held by none: the global check fails alike.
  std::vector<SplitResults> twice = {synthetic_split(0)};
  EXPECT_THROW(h5::write_images(comm(), path, kDim, twice, 1, sample_attributes()), Error);
  std::vector<SplitResults> none;
  EXPECT_THROW(h5::write_images(comm(), path, kDim, none, 2, sample_attributes()), Error);
  // A split index outside the plan on rank 0 only.
  std::vector<SplitResults> outside;
  if (comm().rank() == 0) outside.push_back(SplitResults{9, {}});
  EXPECT_THROW(h5::write_images(comm(), path, kDim, outside, 1, sample_attributes()), Error);
  // Ranks that disagree on the embedding dimension or the plan size.
  EXPECT_THROW(h5::write_images(comm(), path, kDim + comm().rank(), {}, 0, sample_attributes()), Error);
  EXPECT_THROW(h5::write_images(comm(), path, kDim, {}, static_cast<std::uint64_t>(comm().rank()),
                                sample_attributes()),
               Error);
  // An unwritable path fails on every rank.
  EXPECT_THROW(h5::write_images(comm(), dir.path() + "/no/such/dir/x.h5", kDim,
                                my_splits(comm(), kSplits), kSplits, sample_attributes()),
               Error);
  // Still in step: a good write afterwards works.
  EXPECT_NO_THROW(h5::write_images(comm(), path, kDim, my_splits(comm(), 2), 2, sample_attributes()));
}

TEST_F(WriteImagesTest, ReadingAMissingFileThrows) {
  EXPECT_THROW(h5::row_count("/nonexistent/pixelmill.h5"), Error);
  EXPECT_THROW(h5::read_images("/nonexistent/pixelmill.h5", 0, 0), Error);
  EXPECT_THROW(h5::read_root_attributes("/nonexistent/pixelmill.h5"), Error);
}

}  // namespace
}  // namespace pm::test
