// pm::h5::read_images, row_count and read_root_attributes on one process, without MPI.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "pixelmill/error.h"
#include "plain_file.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::test {
namespace {

constexpr hsize_t kRows = 6;
constexpr hsize_t kKeyWidth = 5;
constexpr hsize_t kDim = 3;

std::string key_of(hsize_t i) {
  // Keys of different lengths that hold 0x00 and 0xFF; row 0 is one byte.
  std::string k(1 + i % kKeyWidth, static_cast<char>(0xFF));
  k[0] = static_cast<char>('a' + i);
  if (k.size() > 2) k[1] = '\0';
  return k;
}

void put(hid_t file, const char* name, hid_t type, std::vector<hsize_t> dims, const void* data) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0) << name;
  EXPECT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0) << name;
  H5Dclose(ds);
  H5Sclose(space);
}

void put_attr(hid_t obj, const char* name, hid_t type, const void* value) {
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, type, value);
  H5Aclose(a);
  H5Sclose(space);
}

// A file in the documented layout, written with plain serial HDF5 (contiguous
// datasets: the reader must not depend on the writer's chunking).
class ReadImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("pm_read_images_" + std::to_string(getpid()) + ".h5")).string();
    write_file(kKeyWidth);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  void write_file(hsize_t key_length_of_row_0) {
    const hid_t f = create_checksummed(path_);
    ASSERT_GE(f, 0);
    H5Gclose(H5Gcreate2(f, layout::kImages, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    std::vector<std::uint8_t> key(kRows * kKeyWidth, 0), status(kRows), hash(kRows * 32);
    std::vector<std::uint32_t> key_length(kRows);
    std::vector<float> embedding(kRows * kDim);
    std::vector<std::uint64_t> phash(kRows);
    for (hsize_t i = 0; i < kRows; ++i) {
      const std::string k = key_of(i);
      std::memcpy(&key[i * kKeyWidth], k.data(), k.size());
      key_length[i] = static_cast<std::uint32_t>(k.size());
      status[i] = static_cast<std::uint8_t>(i % 3);
      for (hsize_t d = 0; d < kDim; ++d) embedding[i * kDim + d] = static_cast<float>(i * 10 + d);
      for (hsize_t b = 0; b < 32; ++b) hash[i * 32 + b] = static_cast<std::uint8_t>(i + b);
      phash[i] = ~std::uint64_t{0} - i;
    }
    key_length[0] = static_cast<std::uint32_t>(key_length_of_row_0 == kKeyWidth ? key_length[0] : key_length_of_row_0);
    put(f, layout::kKey, H5T_NATIVE_UINT8, {kRows, kKeyWidth}, key.data());
    put(f, layout::kKeyLength, H5T_NATIVE_UINT32, {kRows}, key_length.data());
    put(f, layout::kStatus, H5T_NATIVE_UINT8, {kRows}, status.data());
    put(f, layout::kEmbedding, H5T_NATIVE_FLOAT, {kRows, kDim}, embedding.data());
    put(f, layout::kContentHash, H5T_NATIVE_UINT8, {kRows, 32}, hash.data());
    put(f, layout::kPhash, H5T_NATIVE_UINT64, {kRows}, phash.data());

    const char* vl = "a variable-length string";
    const hid_t vl_type = H5Tcopy(H5T_C_S1);
    H5Tset_size(vl_type, H5T_VARIABLE);
    put_attr(f, "command_line", vl_type, &vl);
    H5Tclose(vl_type);
    const hid_t fixed_type = H5Tcopy(H5T_C_S1);
    H5Tset_size(fixed_type, 12);
    H5Tset_strpad(fixed_type, H5T_STR_NULLPAD);
    const char fixed[12] = "fixed";
    put_attr(f, "pixelmill_version", fixed_type, fixed);
    H5Tclose(fixed_type);
    const std::int64_t rows = kRows;
    put_attr(f, "rows", H5T_STD_I64LE, &rows);
    const float threshold = 0.25f;
    put_attr(f, "threshold", H5T_IEEE_F32LE, &threshold);
    H5Fclose(f);
  }

  std::string path_;
};

TEST_F(ReadImagesTest, AllRows) {
  const h5::ImageRows r = h5::read_images(path_, 0, kRows);
  EXPECT_EQ(r.first_row, 0);
  EXPECT_EQ(r.total_rows, static_cast<std::int64_t>(kRows));
  EXPECT_EQ(r.embedding_dim, static_cast<int>(kDim));
  ASSERT_EQ(r.keys.size(), kRows);
  ASSERT_EQ(r.embedding.size(), kRows * kDim);
  for (hsize_t i = 0; i < kRows; ++i) {
    EXPECT_TRUE(r.keys[i] == key_of(i)) << i;
    EXPECT_EQ(r.status[i], i % 3);
    for (hsize_t d = 0; d < kDim; ++d) EXPECT_EQ(r.embedding[i * kDim + d], static_cast<float>(i * 10 + d));
    for (hsize_t b = 0; b < 32; ++b) EXPECT_EQ(r.content_hash[i][b], i + b);
    EXPECT_EQ(r.phash[i], ~std::uint64_t{0} - i);
  }
  EXPECT_EQ(h5::row_count(path_), static_cast<std::int64_t>(kRows));
}

TEST_F(ReadImagesTest, ARangeWithoutEmbeddings) {
  const h5::ImageRows r = h5::read_images(path_, 2, 5, /*with_embeddings=*/false);
  EXPECT_EQ(r.first_row, 2);
  EXPECT_EQ(r.total_rows, static_cast<std::int64_t>(kRows));
  EXPECT_EQ(r.embedding_dim, static_cast<int>(kDim));  // known even when not read
  EXPECT_TRUE(r.embedding.empty());
  ASSERT_EQ(r.keys.size(), 3u);
  for (hsize_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(r.keys[i] == key_of(i + 2));
    EXPECT_EQ(r.phash[i], ~std::uint64_t{0} - (i + 2));
    EXPECT_EQ(r.content_hash[i][0], i + 2);
  }
}

TEST_F(ReadImagesTest, EmptyRangesAndBadRanges) {
  EXPECT_TRUE(h5::read_images(path_, kRows, kRows).keys.empty());
  EXPECT_TRUE(h5::read_images(path_, 0, 0).status.empty());
  EXPECT_THROW(h5::read_images(path_, 0, kRows + 1), Error);
  EXPECT_THROW(h5::read_images(path_, 3, 2), Error);
  EXPECT_THROW(h5::read_images(path_, -1, 0), Error);
}

TEST_F(ReadImagesTest, RootAttributesAsText) {
  const auto a = h5::read_root_attributes(path_);
  EXPECT_EQ(a.at("command_line"), "a variable-length string");
  EXPECT_EQ(a.at("pixelmill_version"), "fixed");
  EXPECT_EQ(a.at("rows"), "6");
  EXPECT_EQ(a.at("threshold"), "0.25");
  EXPECT_EQ(a.size(), 4u);
}

TEST_F(ReadImagesTest, DamagedFilesThrow) {
  write_file(kKeyWidth + 1);  // a key_length beyond the key width
  EXPECT_THROW(h5::read_images(path_, 0, 1), Error);
  EXPECT_NO_THROW(h5::read_images(path_, 1, 2));

  std::FILE* junk = std::fopen(path_.c_str(), "wb");
  ASSERT_NE(junk, nullptr);
  std::fputs("not an HDF5 file", junk);
  std::fclose(junk);
  EXPECT_THROW(h5::row_count(path_), Error);
  EXPECT_THROW(h5::read_root_attributes(path_), Error);
  try {
    h5::read_images(path_, 0, 0);
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
  }
}

// What the layout says beyond each dataset's own type and shape: D == embedding_dim, and
// every status a StatusCode (the report names statuses by code).
TEST_F(ReadImagesTest, LayoutMismatchesThrowNamingTheObject) {
  auto message = [&] {
    try {
      h5::read_images(path_, 0, kRows);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  {
    const hid_t f = H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const std::int64_t dim = kDim + 1;
    put_attr(f, "embedding_dim", H5T_STD_I64LE, &dim);
    H5Fclose(f);
  }
  EXPECT_NE(message().find("'" + path_ + "' /images/embedding: has 3 values per row, but the root "
                           "attribute embedding_dim says 4"), std::string::npos) << message();
  write_file(kKeyWidth);
  {
    const hid_t f = H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, layout::kStatus, H5P_DEFAULT);
    const std::uint8_t bad[kRows] = {0, 0, 0, 0, 9, 0};
    H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad);
    H5Dclose(d);
    H5Fclose(f);
  }
  EXPECT_NE(message().find("/images/status: row 4 has status 9"), std::string::npos) << message();
  EXPECT_NO_THROW(h5::read_images(path_, 0, 4));
}

TEST(ReadImagesMissing, MissingFileOrDatasetThrows) {
  EXPECT_THROW(h5::read_images("/nonexistent/x.h5", 0, 0), Error);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("pm_empty_" + std::to_string(getpid()) + ".h5")).string();
  H5Fclose(create_checksummed(path));
  EXPECT_THROW(h5::row_count(path), Error);
  EXPECT_TRUE(h5::read_root_attributes(path).empty());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pm::test
