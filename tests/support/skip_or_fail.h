// A test whose dependency is missing (a model not fetched, Chromium or a data package not
// installed) skips on a developer's machine but fails under CI=true, naming what is
// missing: in CI a skip would show green for a test that never ran.
#pragma once

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

namespace pm::test {

inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::strcmp(ci, "true") == 0;
}

}  // namespace pm::test

// Use as a statement in a TEST body: PM_SKIP_OR_FAIL("chromium is not installed (...)").
#define PM_SKIP_OR_FAIL(why)                                                   \
  do {                                                                         \
    if (::pm::test::under_ci()) {                                              \
      FAIL() << (why) << " (CI=true: a test that cannot run is a failure)";    \
    } else {                                                                   \
      GTEST_SKIP() << (why);                                                   \
    }                                                                          \
  } while (0)
