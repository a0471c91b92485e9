// Files written by these tests with the plain HDF5 API, in the format the readers accept
// (src/sink/hdf5/h5_file.h): superblock 2 and, once created, version 4 layouts.
#pragma once

#include <hdf5.h>

#include <string>

namespace pm::test {

// Creates `path` as the writers do, with nothing but HDF5 calls; returns the file id
// (negative on failure), which the caller closes.
inline hid_t create_checksummed(const std::string& path) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110);
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f >= 0 && H5Fset_libver_bounds(f, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0) {
    H5Fclose(f);
    return H5I_INVALID_HID;
  }
  return f;
}

}  // namespace pm::test
