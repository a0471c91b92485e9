#include "pixelmill/vote.h"

#include "mpi_check.h"
#include "pixelmill/error.h"

namespace pm {

Vote::Vote(const Comm& comm) : comm_(comm) {}

Vote::~Vote() {
  if (running() && !mpi::finalized()) MPI_Wait(&request_, MPI_STATUS_IGNORE);
}

void Vote::start(const Values& mine) {
  PM_CHECK(!running(), "Vote::start while a vote is running");
  mine_ = mine;  // MPI reads it until the vote completes
  mpi::check(MPI_Iallreduce(mine_.data(), result_.data(), kValues, MPI_INT64_T, MPI_MAX, comm_.raw(),
                            &request_),
             "MPI_Iallreduce");
}

bool Vote::test() {
  if (!running()) return true;
  int done = 0;
  mpi::check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
  return done != 0;
}

void Vote::wait() {
  if (running()) mpi::check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
}

}  // namespace pm
