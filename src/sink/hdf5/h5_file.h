// File-access settings shared by the collective writers.
#pragma once

#include "h5_handle.h"
#include "pixelmill/comm.h"

namespace pm::h5 {

// A file-access property list for collective MPI-IO over `comm`, with metadata written
// collectively (one MPI-IO write of the metadata cache instead of many small writes
// from rank 0, which parallel file systems handle badly).
Handle collective_file_access(const Comm& comm);

}  // namespace pm::h5
