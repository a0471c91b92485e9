// Plain (non-collective) reading of /images and the root attributes. Files are opened
// with the default (POSIX) driver, so any rank, or a program without MPI, may read
// any rows at any time.
#include <algorithm>
#include <string>
#include <vector>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

static_assert(sizeof(ContentHash) == 32, "content hashes are read straight into the array");

}  // namespace

ImageRows read_images(const std::string& path, std::int64_t begin, std::int64_t end,
                      bool with_embeddings) {
  QuietErrors quiet;
  Handle file = open_read_only(path);
  const hid_t f = file.get();

  Extent keys;
  {
    Handle key_dataset = open_dataset(f, layout::kKey);
    keys = extent(key_dataset.get());
  }
  Extent embeddings;
  {
    Handle embedding_dataset = open_dataset(f, layout::kEmbedding);
    embeddings = extent(embedding_dataset.get());
  }
  const auto total = static_cast<std::int64_t>(keys.rows);
  PM_CHECK(0 <= begin && begin <= end && end <= total,
           "read_images: rows [" + std::to_string(begin) + ", " + std::to_string(end) +
               ") are not within the file's " + std::to_string(total) + " rows");
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);

  ImageRows out;
  out.first_row = begin;
  out.total_rows = total;
  out.embedding_dim = static_cast<int>(embeddings.cols);

  const auto key_bytes = read_column<std::uint8_t>(f, layout::kKey, H5T_NATIVE_UINT8, keys.rows,
                                                   keys.cols, first, count);
  const auto key_length = read_column<std::uint32_t>(f, layout::kKeyLength, H5T_NATIVE_UINT32,
                                                     keys.rows, 0, first, count);
  out.keys.reserve(count);
  for (hsize_t i = 0; i < count; ++i) {
    PM_CHECK(key_length[i] <= keys.cols, "row " + std::to_string(first + i) +
                                             ": key_length exceeds the key width");
    const auto* row = key_bytes.data() + i * keys.cols;
    out.keys.emplace_back(reinterpret_cast<const char*>(row), key_length[i]);
  }
  out.status = read_column<std::uint8_t>(f, layout::kStatus, H5T_NATIVE_UINT8, keys.rows, 0,
                                         first, count);
  if (with_embeddings)
    out.embedding = read_column<float>(f, layout::kEmbedding, H5T_NATIVE_FLOAT, keys.rows,
                                       embeddings.cols, first, count);
  const auto hashes = read_column<std::uint8_t>(f, layout::kContentHash, H5T_NATIVE_UINT8,
                                                keys.rows, 32, first, count);
  out.content_hash.resize(count);
  for (hsize_t i = 0; i < count; ++i)
    std::copy_n(hashes.data() + i * 32, 32, out.content_hash[i].begin());
  out.phash = read_column<std::uint64_t>(f, layout::kPhash, H5T_NATIVE_UINT64, keys.rows, 0,
                                         first, count);
  return out;
}

std::int64_t row_count(const std::string& path) {
  QuietErrors quiet;
  Handle file = open_read_only(path);
  Handle keys = open_dataset(file.get(), layout::kKey);
  return static_cast<std::int64_t>(extent(keys.get()).rows);
}

std::map<std::string, std::string> read_root_attributes(const std::string& path) {
  QuietErrors quiet;
  Handle file = open_read_only(path);
  return read_attributes(file.get());
}

}  // namespace pm::h5
