// Plain (non-collective) reading of /images and the root attributes, through RunFile:
// every dataset's type and shape is checked before it is read, and every value that is
// later used as a length or a code (key_length, status) is checked row by row.
#include <algorithm>
#include <string>
#include <vector>

#include "h5_file.h"
#include "h5_handle.h"
#include "run_file.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

static_assert(sizeof(ContentHash) == layout::kContentHashBytes,
              "content hashes are read straight into the array");

}  // namespace

ImageRows read_images(const std::string& path, std::int64_t begin, std::int64_t end,
                      bool with_embeddings) {
  QuietErrors quiet;
  const RunFile f(path);
  const ImagesShape shape = check_images(f);
  check_row_range(f, "read_images", begin, end, shape.rows);
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);

  ImageRows out;
  out.first_row = begin;
  out.total_rows = static_cast<std::int64_t>(shape.rows);
  out.embedding_dim = static_cast<int>(shape.dim);
  out.keys = read_keys(f, shape, first, count);
  out.status = read_status(f, shape, first, count);
  if (with_embeddings) {
    const Column embedding = f.column(layout::kEmbedding, Element::kF32, 2, shape.rows, shape.dim);
    out.embedding = f.read<float>(embedding, H5T_NATIVE_FLOAT, first, count);
  }
  const Column hash_column = f.column(layout::kContentHash, Element::kU8, 2, shape.rows,
                                      layout::kContentHashBytes);
  const auto hashes = f.read<std::uint8_t>(hash_column, H5T_NATIVE_UINT8, first, count);
  out.content_hash.resize(count);
  for (hsize_t i = 0; i < count; ++i)
    std::copy_n(hashes.data() + i * layout::kContentHashBytes, layout::kContentHashBytes,
                out.content_hash[i].begin());
  const Column phash = f.column(layout::kPhash, Element::kU64, 1, shape.rows);
  out.phash = f.read<std::uint64_t>(phash, H5T_NATIVE_UINT64, first, count);
  return out;
}

std::int64_t row_count(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  return static_cast<std::int64_t>(check_images(f).rows);
}

std::map<std::string, std::string> read_root_attributes(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  return f.attributes("/");
}

std::map<std::string, std::string> read_group_attributes(const std::string& path, const std::string& group) {
  QuietErrors quiet;
  const RunFile f(path);
  if (!f.has(group)) return {};
  return f.attributes(group.c_str());
}

std::string read_root_string(const std::string& path, const char* name) {
  QuietErrors quiet;
  const RunFile f(path);
  return f.string_attribute("/", name).value_or("");
}

}  // namespace pm::h5
