// The assumption behind main()'s exit path: a rank waiting in MPI_Finalize for a peer
// that never comes is ended by pm::Watchdog calling MPI_Abort from its own thread (MPI
// initialised FUNNELED, as in main), and MPI_Abort takes the whole job down. Rank 0 here
// is that peer: it sleeps far longer than the test's timeout, so the test passes only if
// the job ends through the watchdog (the CTest checks the message and a short TIMEOUT).
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "pixelmill/watchdog.h"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) std::this_thread::sleep_for(std::chrono::minutes(10));
  {
    const pm::Watchdog watchdog(std::chrono::seconds(2), [rank] {
      std::fprintf(stderr, "rank %d: watchdog fired in MPI_Finalize\n", rank);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    });
    MPI_Finalize();
  }
  std::fprintf(stderr, "rank %d: MPI_Finalize returned without its peer\n", rank);
  return 1;
}
