// Small typed helpers for the point-to-point and all-to-all exchanges of dedup: vectors of
// trivially copyable records travel as MPI_BYTE. Collective where the MPI call is.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace pm::dedup {

inline int checked_int(std::int64_t n) {
  PM_CHECK(n >= 0 && n <= std::numeric_limits<int>::max(), "message too large for one MPI call");
  return static_cast<int>(n);
}

// out[r] goes to rank r; returns what every rank sent here, concatenated in rank order.
template <class T>
std::vector<T> alltoallv(const Comm& comm, const std::vector<std::vector<T>>& out) {
  static_assert(std::is_trivially_copy_constructible_v<T> && std::is_trivially_destructible_v<T>);
  const int p = comm.size();
  std::vector<int> send_counts(p), recv_counts(p), send_displs(p), recv_displs(p);
  std::vector<T> send;
  for (int r = 0; r < p; ++r) {
    send_displs[r] = checked_int(static_cast<std::int64_t>(send.size() * sizeof(T)));
    send_counts[r] = checked_int(static_cast<std::int64_t>(out[r].size() * sizeof(T)));
    send.insert(send.end(), out[r].begin(), out[r].end());
  }
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm.raw());
  std::int64_t total = 0;
  for (int r = 0; r < p; ++r) {
    recv_displs[r] = checked_int(total);
    total += recv_counts[r];
  }
  std::vector<T> in(static_cast<std::size_t>(total) / sizeof(T));
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, in.data(),
                recv_counts.data(), recv_displs.data(), MPI_BYTE, comm.raw());
  return in;
}

template <class T>
void send_vector(const Comm& comm, const std::vector<T>& v, int dest, int tag) {
  static_assert(std::is_trivially_copy_constructible_v<T> && std::is_trivially_destructible_v<T>);
  MPI_Send(v.data(), checked_int(static_cast<std::int64_t>(v.size() * sizeof(T))), MPI_BYTE, dest,
           tag, comm.raw());
}

template <class T>
std::vector<T> recv_vector(const Comm& comm, int source, int tag) {
  static_assert(std::is_trivially_copy_constructible_v<T> && std::is_trivially_destructible_v<T>);
  MPI_Status st;
  MPI_Probe(source, tag, comm.raw(), &st);
  int bytes = 0;
  MPI_Get_count(&st, MPI_BYTE, &bytes);
  std::vector<T> v(static_cast<std::size_t>(bytes) / sizeof(T));
  MPI_Recv(v.data(), bytes, MPI_BYTE, source, tag, comm.raw(), MPI_STATUS_IGNORE);
  return v;
}

}  // namespace pm::dedup
