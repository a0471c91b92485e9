// Support for MPI GoogleTest binaries (main in mpi_gtest_main.cc). Every rank runs
// every test in the same order; MpiTest::TearDown agrees on the outcome over all
// ranks, so a failure on any rank fails the test everywhere (and so mpirun's exit code
// and rank 0's report both show it).
//
// Rule for test bodies: an ASSERT_* that returns early on one rank only makes the other
// ranks wait forever in the next collective. Use EXPECT_* around collective calls, and
// ASSERT_* only on conditions that are the same on every rank.
#pragma once

#include <gtest/gtest.h>

#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace pm::test {

// The communicator every test runs on (a duplicate of the world, owned by main).
const Comm& world();

class MpiTest : public ::testing::Test {
 protected:
  const Comm& comm() const { return world(); }
  void TearDown() override {
    const bool here = !HasFailure();
    if (!world().all_true(here) && here) ADD_FAILURE() << "failed on another rank";
  }
};

}  // namespace pm::test
