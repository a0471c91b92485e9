// Opening files: collective access for the writers, read-only access for RunFile
// (run_file.h), through which every reader opens a file.
#pragma once

#include <string>

#include "h5_handle.h"
#include "pixelmill/comm.h"

namespace pm::h5 {

// A file-access property list for collective MPI-IO over `comm`, with metadata written
// collectively (one MPI-IO write of the metadata cache instead of many small writes
// from rank 0, which parallel file systems handle badly).
Handle collective_file_access(const Comm& comm);

// Opens `path` read-only with the default (POSIX) driver, so any rank, or a program
// without MPI, may read it at any time.
Handle open_read_only(const std::string& path);

}  // namespace pm::h5
