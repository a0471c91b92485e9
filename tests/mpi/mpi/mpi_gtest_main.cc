// main() for MPI GoogleTest binaries: initialises MPI, runs every test on every rank,
// prints the full report on rank 0 and only failures (tagged with the rank) elsewhere,
// and exits non-zero on every rank if any rank failed.
#include <mpi.h>

#include <cstdio>
#include <memory>

#include "mpi_test_support.h"

namespace pm::test {

namespace {

std::unique_ptr<Comm> g_world;

// Non-root ranks stay quiet except for their own failures.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.summary());
  }

 private:
  int rank_;
};

}  // namespace

const Comm& world() { return *g_world; }

}  // namespace pm::test

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int failed = 0;
  {
    pm::test::g_world = std::make_unique<pm::Comm>(pm::Comm::dup(MPI_COMM_WORLD));
    if (pm::test::g_world->rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
      listeners.Append(new pm::test::RankFailurePrinter(pm::test::g_world->rank()));
    }
    const int mine = RUN_ALL_TESTS();
    failed = pm::test::g_world->all_true(mine == 0) ? 0 : 1;
    pm::test::g_world.reset();  // frees the duplicate before MPI_Finalize
  }
  MPI_Finalize();
  return failed;
}
