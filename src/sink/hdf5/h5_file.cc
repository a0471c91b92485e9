#include "h5_file.h"

namespace pm::h5 {

Handle collective_file_access(const Comm& comm) {
  Handle fapl = own_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  check(H5Pset_fapl_mpio(fapl.get(), comm.raw(), MPI_INFO_NULL), "H5Pset_fapl_mpio");
  check(H5Pset_coll_metadata_write(fapl.get(), true), "H5Pset_coll_metadata_write");
  return fapl;
}

}  // namespace pm::h5
