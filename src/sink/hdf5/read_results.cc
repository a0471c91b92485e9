// pm::h5::read_results: rows of /images back into the ImageResults they were written
// from, every column included, so that `extract --resume` can write them again
// unchanged beside the rows it computes. Checked through RunFile like every reader.
#include <cstring>
#include <string>
#include <vector>

#include "h5_handle.h"
#include "run_file.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/status.h"

namespace pm::h5 {

std::vector<ImageResult> read_results(const std::string& path, std::int64_t begin,
                                      std::int64_t end) {
  QuietErrors quiet;
  const RunFile f(path);
  const ImagesShape shape = check_images(f);
  const hsize_t n = shape.rows;
  check_row_range(f, "read_results", begin, end, n);
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);
  std::vector<ImageResult> out(count);
  if (count == 0) return out;

  const auto keys = read_keys(f, shape, first, count);
  const auto status = read_status(f, shape, first, count);
  std::vector<char> errors;
  {
    Handle error_type = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(error_type.get(), layout::kErrorLength), "H5Tset_size");
    check(H5Tset_strpad(error_type.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
    const Column c = f.column(layout::kError, Element::kErrorText, 1, n);
    errors = f.read<char>(c, error_type.get(), first, count);
  }
  const std::size_t dim = shape.dim;
  const auto embedding = f.read<float>(f.column(layout::kEmbedding, Element::kF32, 2, n, dim),
                                       H5T_NATIVE_FLOAT, first, count);
  const auto hashes = f.read<std::uint8_t>(
      f.column(layout::kContentHash, Element::kU8, 2, n, layout::kContentHashBytes),
      H5T_NATIVE_UINT8, first, count);
  const auto phash = f.read<std::uint64_t>(f.column(layout::kPhash, Element::kU64, 1, n),
                                           H5T_NATIVE_UINT64, first, count);
  const auto width = f.read<std::int32_t>(f.column(layout::kWidth, Element::kI32, 1, n),
                                          H5T_NATIVE_INT32, first, count);
  const auto height = f.read<std::int32_t>(f.column(layout::kHeight, Element::kI32, 1, n),
                                           H5T_NATIVE_INT32, first, count);
  const auto timestamp = f.read<std::int64_t>(f.column(layout::kTimestamp, Element::kI64, 1, n),
                                              H5T_NATIVE_INT64, first, count);
  for (hsize_t i = 0; i < count; ++i) {
    ImageResult& r = out[i];
    r.key = keys[i];
    const char* e = errors.data() + i * layout::kErrorLength;
    r.status.code = static_cast<StatusCode>(status[i]);
    r.status.message.assign(e, strnlen(e, layout::kErrorLength));
    // Failed rows were written without an embedding (zeros in the file): keep them so.
    if (r.status.is_ok())
      r.embedding.assign(embedding.begin() + static_cast<std::ptrdiff_t>(i * dim),
                         embedding.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
    std::memcpy(r.content_hash.data(), hashes.data() + i * layout::kContentHashBytes,
                layout::kContentHashBytes);
    r.phash = phash[i];
    r.width = width[i];
    r.height = height[i];
    r.timestamp = timestamp[i];
  }
  return out;
}

}  // namespace pm::h5
