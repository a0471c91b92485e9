#include "h5_file.h"

namespace pm::h5 {

Handle collective_file_access(const Comm& comm) {
  Handle fapl = own_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  const Comm::IoHandles io = comm.io_handles();
  check(H5Pset_fapl_mpio(fapl.get(), io.comm, io.info), "H5Pset_fapl_mpio");
  check(H5Pset_coll_metadata_write(fapl.get(), true), "H5Pset_coll_metadata_write");
  return fapl;
}

Handle open_read_only(const std::string& path) {
  // File locks are taken where the file system has them and skipped where it has none
  // (some parallel file systems), instead of failing.
  Handle fapl = own_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  check(H5Pset_file_locking(fapl.get(), true, true), "H5Pset_file_locking");
  return own_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "opening " + path);
}

}  // namespace pm::h5
