// While one call into libhdf5 that is known to misbehave on damaged files runs, a crash
// (SIGSEGV, SIGBUS) prints why and ends the process with status 1, instead of a bare
// "Segmentation fault": libhdf5 1.10 reads variable-length data from the file's global
// heap without checking it (fuzzing found an out-of-bounds copy there). Under mpirun the
// status ends the whole job. One guard at a time in the process (the HDF5 calls of a rank
// are serialised); the previous handlers are back when it goes.
#pragma once

#include <csignal>
#include <string>

namespace pm::h5 {

class CrashMessage {
 public:
  explicit CrashMessage(const std::string& message);
  ~CrashMessage();
  CrashMessage(const CrashMessage&) = delete;
  CrashMessage& operator=(const CrashMessage&) = delete;

 private:
  struct sigaction old_segv_ {};
  struct sigaction old_bus_ {};
};

}  // namespace pm::h5
