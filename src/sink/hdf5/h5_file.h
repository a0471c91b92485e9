// Opening files: collective access for the writers, read-only access for the readers.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/error.h"
#include "pixelmill/comm.h"

namespace pm::h5 {

// A file-access property list for collective MPI-IO over `comm`, with metadata written
// collectively (one MPI-IO write of the metadata cache instead of many small writes
// from rank 0, which parallel file systems handle badly).
Handle collective_file_access(const Comm& comm);

// Opens `path` read-only with the default (POSIX) driver, so any rank, or a program
// without MPI, may read it at any time.
Handle open_read_only(const std::string& path);

Handle open_dataset(hid_t file, const char* path);

// Reads rows [first, first + count) of a dataset whose extent must be `rows` x `cols`.
template <typename T>
std::vector<T> read_column(hid_t file, const char* path, hid_t mem_type, hsize_t rows,
                           hsize_t cols, hsize_t first, hsize_t count) {
  Handle dataset = open_dataset(file, path);
  const Extent e = extent(dataset.get());
  PM_CHECK(e.rows == rows && e.cols == cols,
           std::string(path) + " has " + std::to_string(e.rows) + "x" + std::to_string(e.cols) +
               " values, expected " + std::to_string(rows) + "x" + std::to_string(cols));
  std::vector<T> out(count * std::max<hsize_t>(1, cols));
  read_rows(dataset.get(), mem_type, cols, first, count, out.data());
  return out;
}

}  // namespace pm::h5
