// Turns a failed MPI return code into a pm::Error. With the default error handler
// (MPI_ERRORS_ARE_FATAL) MPI aborts before we see the code; this matters when a caller
// installs MPI_ERRORS_RETURN on its communicator.
#pragma once

#include <mpi.h>

#include <string>

#include "pixelmill/error.h"

namespace pm::mpi {

inline void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

// True once MPI_Finalize has run: destructors of objects that outlive finalisation
// (statics, leaked owners in tests) must not call MPI any more.
inline bool finalized() {
  int done = 0;
  MPI_Finalized(&done);
  return done != 0;
}

}  // namespace pm::mpi
