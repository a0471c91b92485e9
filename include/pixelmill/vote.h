// A running vote among all ranks, taken without blocking: each rank starts a vote with
// its values whenever it is ready, goes on with its work, and polls; when every rank has
// started the same vote, every rank gets the same element-wise maximum. Votes are taken
// in sequence (a new one starts only after the last one's result), so all ranks see the
// same results in the same order and can act on them together: the checkpoint rounds of
// `extract` are decided this way. A non-blocking MPI_Allreduce; collective requests
// cannot be cancelled, so the destructor waits for a vote still running (every rank
// reaches it: a rank that fails votes its failure instead of leaving).
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>

#include "pixelmill/comm.h"

namespace pm {

class Vote {
 public:
  static constexpr int kValues = 4;
  using Values = std::array<std::int64_t, kValues>;

  explicit Vote(const Comm& comm);
  Vote(const Vote&) = delete;
  Vote& operator=(const Vote&) = delete;
  ~Vote();

  // Starts a vote with this rank's values; none may be running.
  void start(const Values& mine);
  bool running() const { return request_ != MPI_REQUEST_NULL; }
  // True once the running vote is decided (then result() holds it and a new one may start).
  bool test();
  // Blocks until the running vote is decided.
  void wait();
  const Values& result() const { return result_; }

 private:
  const Comm& comm_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  Values mine_{};
  Values result_{};
};

}  // namespace pm
