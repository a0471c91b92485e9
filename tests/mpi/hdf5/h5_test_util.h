// Test helpers: a scratch directory shared by all ranks, and whole-dataset reads with
// the plain HDF5 API (an oracle independent of pm::h5's reader).
#pragma once

#include <hdf5.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "pixelmill/comm.h"

namespace pm::test {

// Created by rank 0, removed by rank 0 when the last rank is done with it.
class SharedTempDir {
 public:
  explicit SharedTempDir(const Comm& comm) : comm_(comm) {
    std::string made;
    if (comm.rank() == 0) {
      const char* base = std::getenv("TMPDIR");
      std::string pattern = std::string(base && *base ? base : "/tmp") + "/pm_h5_test_XXXXXX";
      if (mkdtemp(pattern.data())) made = pattern;
    }
    path_ = comm.broadcast(made);
  }
  ~SharedTempDir() {
    comm_.barrier();
    if (comm_.rank() == 0 && !path_.empty()) std::filesystem::remove_all(path_);
  }
  SharedTempDir(const SharedTempDir&) = delete;
  SharedTempDir& operator=(const SharedTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  const Comm& comm_;
  std::string path_;
};

struct RawDataset {
  std::vector<hsize_t> dims;
  std::size_t element_size = 0;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::vector<unsigned char> bytes;  // all elements, in the file's own type
  bool chunked = false;
};

// Reads all of `name` as stored (no conversion). Empty dims on failure.
inline RawDataset read_raw(const std::string& path, const char* name) {
  RawDataset out;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return out;
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds >= 0) {
    const hid_t type = H5Dget_type(ds);
    const hid_t space = H5Dget_space(ds);
    const hid_t dcpl = H5Dget_create_plist(ds);
    out.chunked = H5Pget_layout(dcpl) == H5D_CHUNKED;
    const int rank = H5Sget_simple_extent_ndims(space);
    out.dims.resize(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, out.dims.data(), nullptr);
    out.element_size = H5Tget_size(type);
    out.type_class = H5Tget_class(type);
    std::size_t n = 1;
    for (hsize_t d : out.dims) n *= d;
    out.bytes.resize(n * out.element_size);
    if (n > 0) H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.bytes.data());
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(ds);
  }
  H5Fclose(file);
  return out;
}

template <typename T>
T raw_at(const RawDataset& d, std::size_t i) {
  T v{};
  std::memcpy(&v, d.bytes.data() + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace pm::test
