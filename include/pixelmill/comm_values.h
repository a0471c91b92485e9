// Typed variable-length gathers and exchanges on top of pm::Comm, for vectors of
// trivially copyable values (row indices, (split, rows) pairs, ids, dedup's routed
// records). Collective over `comm`, like the Comm methods they use; implemented in the
// header because they are templates.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace pm {

// Every rank's `mine`, concatenated in rank order, on every rank.
template <typename T>
std::vector<T> allgatherv_values(const Comm& comm, const std::vector<T>& mine) {
  static_assert(std::is_trivially_copyable_v<T>, "values are sent as raw bytes");
  std::string bytes(mine.size() * sizeof(T), '\0');
  if (!mine.empty()) std::memcpy(bytes.data(), mine.data(), bytes.size());
  std::vector<T> all;
  for (const std::string& part : comm.allgatherv(bytes)) {
    const std::size_t at = all.size();
    all.resize(at + part.size() / sizeof(T));
    if (!part.empty()) std::memcpy(static_cast<void*>(all.data() + at), part.data(), part.size());
  }
  return all;
}

// `send` holds the values for rank 0, then those for rank 1, ... (send_counts[r] of them
// for rank r); what every rank sent here lands in `in`, concatenated in rank order, and
// the count is returned. `in` only grows (values past the count are left as they were),
// so a caller that exchanges again and again reuses its pages, and one that packs its
// values in rank order sends them without a second copy. Throws pm::Error on every rank
// when some rank's share exceeds one MPI call (INT_MAX words).
template <ByteCopyable T>
std::size_t alltoallv_packed(const Comm& comm, std::span<const T> send,
                             const std::vector<std::int64_t>& send_counts, std::vector<T>& in) {
  PM_ASSERT(send_counts.size() == static_cast<std::size_t>(comm.size()), "alltoallv: one count per rank");
  std::int64_t sending = 0;
  for (std::int64_t n : send_counts) sending += n;
  PM_ASSERT(sending == static_cast<std::int64_t>(send.size()), "alltoallv: the counts must cover the values");
  const std::vector<std::int64_t> recv_counts = comm.alltoall(send_counts);
  std::int64_t total = 0;
  for (std::int64_t n : recv_counts) total += n;
  if (in.size() < static_cast<std::size_t>(total)) in.resize(static_cast<std::size_t>(total));
  comm.alltoallv_raw(send.data(), send_counts, in.data(), recv_counts, sizeof(T));
  return static_cast<std::size_t>(total);
}

// out[r] goes to rank r (out.size() == comm.size()); returns what every rank sent here,
// concatenated in rank order. Throws pm::Error on every rank when some rank's share
// exceeds one MPI call (INT_MAX words).
template <ByteCopyable T>
std::vector<T> alltoallv_values(const Comm& comm, const std::vector<std::vector<T>>& out) {
  PM_ASSERT(out.size() == static_cast<std::size_t>(comm.size()), "alltoallv: one vector per rank");
  std::vector<std::int64_t> send_counts(out.size());
  std::size_t sending = 0;
  for (const std::vector<T>& o : out) sending += o.size();
  std::vector<T> send;
  send.reserve(sending);
  for (std::size_t r = 0; r < out.size(); ++r) {
    send_counts[r] = static_cast<std::int64_t>(out[r].size());
    send.insert(send.end(), out[r].begin(), out[r].end());
  }
  std::vector<T> in;
  in.resize(alltoallv_packed(comm, std::span<const T>(send), send_counts, in));
  return in;
}

}  // namespace pm
