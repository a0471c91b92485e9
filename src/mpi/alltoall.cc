// pm::Comm::alltoall and alltoallv_raw: the personalised exchanges of dedup (rows routed
// to the rank that owns them, answers routed back).
#include <climits>
#include <string>
#include <vector>

#include "mpi_check.h"
#include "pixelmill/comm.h"
#include "words.h"

namespace pm {

namespace {

// Counts and displacements in words, as the ints MPI takes. False (nothing thrown) when
// they do not fit: the caller agrees on that with the other ranks before any throws.
bool to_words(const std::vector<std::int64_t>& counts, std::size_t element_bytes,
              std::vector<int>& words, std::vector<int>& displs) {
  const std::size_t per_value = element_bytes / mpi::words_for(element_bytes).bytes;
  const auto limit = static_cast<std::size_t>(INT_MAX) / per_value;
  std::size_t at = 0;  // values so far
  for (std::size_t r = 0; r < counts.size(); ++r) {
    PM_ASSERT(counts[r] >= 0, "alltoallv: a negative count");
    const auto n = static_cast<std::size_t>(counts[r]);
    if (n > limit || at > limit - n) return false;
    words[r] = static_cast<int>(n * per_value);
    displs[r] = static_cast<int>(at * per_value);
    at += n;
  }
  return true;
}

}  // namespace

std::vector<std::int64_t> Comm::alltoall(const std::vector<std::int64_t>& out) const {
  PM_ASSERT(out.size() == static_cast<std::size_t>(size_), "alltoall: one value per rank");
  std::vector<std::int64_t> in(out.size());
  mpi::check(MPI_Alltoall(out.data(), 1, MPI_INT64_T, in.data(), 1, MPI_INT64_T, comm_),
             "MPI_Alltoall");
  return in;
}

void Comm::alltoallv_raw(const void* send, const std::vector<std::int64_t>& send_counts,
                         void* recv, const std::vector<std::int64_t>& recv_counts,
                         std::size_t element_bytes) const {
  const auto p = static_cast<std::size_t>(size_);
  PM_ASSERT(send_counts.size() == p && recv_counts.size() == p,
            "alltoallv: one count per rank on each side");
  std::vector<int> sw(p), sd(p), rw(p), rd(p);
  const bool fits = to_words(send_counts, element_bytes, sw, sd) &&
                    to_words(recv_counts, element_bytes, rw, rd);
  // One rank over the limit must not leave the others waiting in the exchange.
  if (!all_true(fits))
    throw Error("alltoallv: a rank's share exceeds one MPI call (" + std::to_string(INT_MAX) +
                " words of " + std::to_string(mpi::words_for(element_bytes).bytes) + " bytes)");
  // A non-null buffer even for zero values: some MPI builds check it.
  char dummy = 0;
  const mpi::Words w = mpi::words_for(element_bytes);
  mpi::check(MPI_Alltoallv(send ? send : &dummy, sw.data(), sd.data(), w.type,
                           recv ? recv : &dummy, rw.data(), rd.data(), w.type, comm_),
             "MPI_Alltoallv");
}

}  // namespace pm
