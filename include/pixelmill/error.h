// Setup and configuration errors: thrown, caught in main, reported once, non-zero exit.
// Per-record failures never throw across a module boundary: they become a pm::Status.
// Broken invariants (bugs) never throw: PM_ASSERT ends the job (see below).
#pragma once

#include <stdexcept>
#include <string>

namespace pm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// PM_CHECK(cond, msg): throw pm::Error with file:line when a setup condition fails.
#define PM_CHECK(cond, msg)                                                              \
  do {                                                                                   \
    if (!(cond))                                                                         \
      throw ::pm::Error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + \
                        (msg));                                                          \
  } while (0)

// A broken invariant is a bug, not an error of the input: PM_ASSERT(cond, msg) reports it
// with file:line and ends the process through the fatal handler, without unwinding.
// Throwing instead would run destructors and later code that may enter a collective
// call the other ranks never make: a hang instead of an error. main() installs a handler
// that calls MPI_Abort, so the whole job ends; the default prints and calls std::abort.
using FatalHandler = void (*)(const std::string& message);  // must not return
void set_fatal_handler(FatalHandler handler);
[[noreturn]] void invariant_failed(const char* file, int line, const std::string& message);

#define PM_ASSERT(cond, msg)                                  \
  do {                                                        \
    if (!(cond)) ::pm::invariant_failed(__FILE__, __LINE__, (msg)); \
  } while (0)

}  // namespace pm
