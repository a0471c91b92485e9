// pm::h5::read_results: rows of /images back into the ImageResults they were written
// from, every column included, so that `extract --resume` can write them again
// unchanged beside the rows it computes.
#include <cstring>
#include <string>
#include <vector>

#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/status.h"

namespace pm::h5 {

std::vector<ImageResult> read_results(const std::string& path, std::int64_t begin,
                                      std::int64_t end) {
  QuietErrors quiet;
  Handle file = open_read_only(path);
  const hid_t f = file.get();
  Extent keys, embeddings;
  {
    Handle d = open_dataset(f, layout::kKey);
    keys = extent(d.get());
  }
  {
    Handle d = open_dataset(f, layout::kEmbedding);
    embeddings = extent(d.get());
  }
  const hsize_t n = keys.rows;
  PM_CHECK(0 <= begin && begin <= end && static_cast<hsize_t>(end) <= n,
           "read_results: rows [" + std::to_string(begin) + ", " + std::to_string(end) +
               ") are not within the file's " + std::to_string(n) + " rows");
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);
  std::vector<ImageResult> out(count);
  if (count == 0) return out;

  const auto key_bytes = read_column<std::uint8_t>(f, layout::kKey, H5T_NATIVE_UINT8, n,
                                                   keys.cols, first, count);
  const auto key_length = read_column<std::uint32_t>(f, layout::kKeyLength, H5T_NATIVE_UINT32,
                                                     n, 0, first, count);
  const auto status = read_column<std::uint8_t>(f, layout::kStatus, H5T_NATIVE_UINT8, n, 0,
                                                first, count);
  std::vector<char> errors;
  {
    Handle error_type = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(error_type.get(), layout::kErrorLength), "H5Tset_size");
    check(H5Tset_strpad(error_type.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
    Handle d = open_dataset(f, layout::kError);
    errors.resize(count * layout::kErrorLength);
    read_rows(d.get(), error_type.get(), 0, first, count, errors.data());
  }
  const auto embedding = read_column<float>(f, layout::kEmbedding, H5T_NATIVE_FLOAT, n,
                                            embeddings.cols, first, count);
  const auto hashes = read_column<std::uint8_t>(f, layout::kContentHash, H5T_NATIVE_UINT8, n,
                                                32, first, count);
  const auto phash = read_column<std::uint64_t>(f, layout::kPhash, H5T_NATIVE_UINT64, n, 0,
                                                first, count);
  const auto width = read_column<std::int32_t>(f, layout::kWidth, H5T_NATIVE_INT32, n, 0,
                                               first, count);
  const auto height = read_column<std::int32_t>(f, layout::kHeight, H5T_NATIVE_INT32, n, 0,
                                                first, count);
  const auto timestamp = read_column<std::int64_t>(f, layout::kTimestamp, H5T_NATIVE_INT64, n,
                                                   0, first, count);
  const std::size_t dim = embeddings.cols;
  for (hsize_t i = 0; i < count; ++i) {
    ImageResult& r = out[i];
    PM_CHECK(key_length[i] <= keys.cols, "row " + std::to_string(first + i) +
                                             ": key_length exceeds the key width");
    PM_CHECK(status[i] < kStatusCodeCount, "row " + std::to_string(first + i) +
                                               ": unknown status " + std::to_string(status[i]));
    r.key.assign(reinterpret_cast<const char*>(key_bytes.data() + i * keys.cols), key_length[i]);
    const char* e = errors.data() + i * layout::kErrorLength;
    r.status.code = static_cast<StatusCode>(status[i]);
    r.status.message.assign(e, strnlen(e, layout::kErrorLength));
    // Failed rows were written without an embedding (zeros in the file): keep them so.
    if (r.status.is_ok())
      r.embedding.assign(embedding.begin() + static_cast<std::ptrdiff_t>(i * dim),
                         embedding.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
    std::memcpy(r.content_hash.data(), hashes.data() + i * 32, 32);
    r.phash = phash[i];
    r.width = width[i];
    r.height = height[i];
    r.timestamp = timestamp[i];
  }
  return out;
}

}  // namespace pm::h5
