// The communicator passed to every module that talks to other ranks. Owns nothing
// global: main() wraps the world communicator once; tests may pass a sub-communicator.
// Typed collectives keep MPI datatypes out of callers. Not thread-safe: call from the
// rank's main thread only.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

class Comm {
 public:
  // Borrows `comm` (not freed). Use Comm::dup to own a duplicate.
  explicit Comm(MPI_Comm comm);
  static Comm dup(MPI_Comm comm);  // owns the duplicate; freed in the destructor
  Comm(Comm&&) noexcept;
  Comm& operator=(Comm&&) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  ~Comm();

  MPI_Comm raw() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  void barrier() const;
  // How many ranks of this communicator share this rank's node (shared memory). Collective.
  int ranks_on_node() const;

  std::int64_t allreduce_sum(std::int64_t v) const;
  std::int64_t allreduce_max(std::int64_t v) const;
  std::int64_t allreduce_min(std::int64_t v) const;
  double allreduce_sum(double v) const;
  double allreduce_max(double v) const;
  void allreduce_sum(std::vector<std::int64_t>& v) const;  // element-wise, in place
  void allreduce_sum(std::vector<double>& v) const;
  std::int64_t exscan_sum(std::int64_t v) const;  // 0 on rank 0
  bool all_true(bool v) const;                      // logical AND over ranks
  std::vector<std::int64_t> allgather(std::int64_t v) const;
  std::string broadcast(std::string s, int root = 0) const;
  // Concatenation of every rank's bytes, in rank order, on every rank.
  std::vector<std::string> allgatherv(const std::string& mine) const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owned_ = false;
  int rank_ = 0;
  int size_ = 1;
};

// A shared counter for dynamic work claiming (MPI-3 RMA fetch-and-add), collective
// to create and destroy. next() returns 0, 1, 2, ... across all ranks, each value once.
class SharedCounter {
 public:
  explicit SharedCounter(const Comm& comm);
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  ~SharedCounter();
  std::int64_t next();
  // Ends claiming early on every rank: after stop(), next() returns at least kStopped
  // everywhere. A rank asked to stop tells the others through the counter they poll.
  void stop();
  // Whether some rank called stop() (one atomic read; claims nothing).
  bool stopped();
  static constexpr std::int64_t kStopped = std::int64_t{1} << 62;

 private:
  MPI_Win win_ = MPI_WIN_NULL;
  std::int64_t* base_ = nullptr;
};

}  // namespace pm
