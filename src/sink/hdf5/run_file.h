// A run file opened for reading: the one place where pixelmill opens its HDF5 files to
// read them (pixelmill/hdf5_io.h's readers are built on it). Nothing in the file is
// trusted: a dataset is read only through a Column, which checks its element type and
// shape against the layout first, and attributes only through the checked readers of
// h5_attributes.h. Every failure is a pm::Error naming the file, the object and what
// the layout expects. Not collective; any rank, or a program without MPI, may read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "h5_handle.h"
#include "h5_rows.h"

namespace pm::h5 {

// The element types of the layout. A dataset must match exactly in class, size and sign
// (any byte order: HDF5 converts it); nothing is converted between kinds.
enum class Element { kU8, kU32, kU64, kI32, kI64, kF32, kErrorText };

// A dataset whose type and shape were checked: [rows] (cols == 0) or [rows, cols].
struct Column {
  std::string name;
  Handle dataset;
  hsize_t rows = 0;
  hsize_t cols = 0;
};

class RunFile {
 public:
  static constexpr hsize_t kAny = ~hsize_t{0};

  // Opens `path` read-only with the default (POSIX) driver. Refuses the older format
  // without checksums, and a file whose object headers fail theirs (h5_file.h).
  explicit RunFile(const std::string& path);

  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }
  // "'PATH' OBJECT", the prefix of every message about that object.
  std::string where(const std::string& object) const;
  [[noreturn]] void fail(const std::string& object, const std::string& what) const;

  // True when the absolute `object` exists (every group on the way is looked up).
  bool has(const std::string& object) const;

  // Opens `dataset`, which must be of `type` with `rank` dimensions (1 or 2), `rows`
  // rows and, when 2-D, `cols` columns (kAny: any count).
  Column column(const char* dataset, Element type, int rank, hsize_t rows = kAny,
                hsize_t cols = kAny) const;

  // Rows [first, first + count) of `c` as `mem_type` (which matches its Element; one
  // element may span several T, as a fixed-length string spans chars).
  template <typename T>
  std::vector<T> read(const Column& c, hid_t mem_type, hsize_t first, hsize_t count) const {
    check_range(c, first, count);
    const std::size_t per_element = element_size(mem_type, sizeof(T));
    std::vector<T> out(count * std::max<hsize_t>(1, c.cols) * per_element);
    read_rows(c.dataset.get(), mem_type, c.cols, first, count, out.data());
    return out;
  }

  // Attributes of `object` ("/" for the root), checked as h5_attributes.h says.
  std::optional<std::string> string_attribute(const char* object, const char* name) const;
  std::optional<std::int64_t> int_attribute(const char* object, const char* name) const;
  std::optional<double> float_attribute(const char* object, const char* name) const;
  std::map<std::string, std::string> attributes(const char* object) const;

 private:
  void check_range(const Column& c, hsize_t first, hsize_t count) const;
  // How many T one element of `mem_type` fills; throws unless it is a whole number.
  static std::size_t element_size(hid_t mem_type, std::size_t t_size);
  Handle open_object(const char* object) const;

  std::string path_;
  Handle file_;
};

// /images checked against the layout: key [N, K] uint8 with 1 <= K <= kMaxKeyWidth,
// key_length [N] uint32, status [N] uint8, embedding [N, D] float32 with
// 1 <= D <= kMaxEmbeddingDim and D == the root attribute embedding_dim (when present),
// content_hash [N, 32] uint8, phash [N] uint64.
struct ImagesShape {
  hsize_t rows = 0;
  hsize_t key_width = 0;
  hsize_t dim = 0;
};
ImagesShape check_images(const RunFile& file);

// Keys of rows [first, first + count); a key_length past the key width is an error.
std::vector<std::string> read_keys(const RunFile& file, const ImagesShape& shape, hsize_t first,
                                   hsize_t count);
// Status codes of rows [first, first + count); a value that is no StatusCode is an error.
std::vector<std::uint8_t> read_status(const RunFile& file, const ImagesShape& shape,
                                      hsize_t first, hsize_t count);

// Throws unless 0 <= begin <= end <= rows; `what` names the reader.
void check_row_range(const RunFile& file, const char* what, std::int64_t begin,
                     std::int64_t end, hsize_t rows);

}  // namespace pm::h5
