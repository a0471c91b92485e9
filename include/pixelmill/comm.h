// The communicator passed to every module that talks to other ranks. Owns nothing
// global: main() wraps the world communicator once; tests may pass a sub-communicator.
// Typed collectives keep MPI datatypes out of callers. Not thread-safe: call from the
// rank's main thread only.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace pm {

// Values that travel between ranks as their bytes: a copy of the bytes is a valid copy.
// Weaker than std::is_trivially_copyable, which std::pair fails only for its assignment.
template <class T>
concept ByteCopyable =
    std::is_trivially_copy_constructible_v<T> && std::is_trivially_destructible_v<T>;

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

  // The MPI handle, for the wrappers in src/mpi and for tests of them. Other modules never
  // call MPI with it (tests/unit/lint checks that no MPI call appears outside src/mpi).
  MPI_Comm raw() const { return comm_; }
  // The one sanctioned use of the handles outside src/mpi: parallel HDF5 opens a file on
  // a communicator (H5Pset_fapl_mpio(fapl, comm, info)). Borrowed: valid while this Comm
  // lives; the info is "no hints".
  struct IoHandles {
    MPI_Comm comm;
    MPI_Info info;
  };
  IoHandles io_handles() const { return {comm_, MPI_INFO_NULL}; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  void barrier() const;
  // The ranks of this communicator on this rank's node (shared memory), as an owned
  // communicator ordered like this one. Collective.
  Comm node() const;
  // How many ranks of this communicator share this rank's node. Collective.
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
  // out[r] goes to rank r; returns what each rank sent here, indexed by sender.
  std::vector<std::int64_t> alltoall(const std::vector<std::int64_t>& out) const;
  // The raw exchange behind alltoallv_values (comm_values.h): send_counts[r] values of
  // `element_bytes` each go to rank r, taken in rank order from `send`; recv_counts[r]
  // values from rank r land in rank order in `recv` (counts as alltoall returned them).
  // Throws pm::Error when a side exceeds one MPI call (INT_MAX words, see words.h).
  void alltoallv_raw(const void* send, const std::vector<std::int64_t>& send_counts, void* recv,
                     const std::vector<std::int64_t>& recv_counts,
                     std::size_t element_bytes) const;

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
