// Setup and configuration errors: thrown, caught in main, reported once, non-zero exit.
// Per-record failures never throw across a module boundary: they become a pm::Status.
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

}  // namespace pm
