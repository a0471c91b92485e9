// pm::Comm: typed collectives over a borrowed or owned communicator.
#include "pixelmill/comm.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "mpi_check.h"

namespace pm {

namespace {

// Strings larger than this are broadcast in pieces: MPI counts are `int`.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

}  // namespace

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  PM_CHECK(comm != MPI_COMM_NULL, "pm::Comm needs a valid communicator, got MPI_COMM_NULL");
  mpi::check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi::check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Comm Comm::dup(MPI_Comm comm) {
  MPI_Comm copy = MPI_COMM_NULL;
  mpi::check(MPI_Comm_dup(comm, &copy), "MPI_Comm_dup");
  Comm owned(copy);
  owned.owned_ = true;
  return owned;
}

Comm::Comm(Comm&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      owned_(std::exchange(other.owned_, false)),
      rank_(other.rank_),
      size_(other.size_) {}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    Comm doomed(std::move(*this));  // frees our old communicator if we owned it
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    owned_ = std::exchange(other.owned_, false);
    rank_ = other.rank_;
    size_ = other.size_;
  }
  return *this;
}

Comm::~Comm() {
  if (owned_ && comm_ != MPI_COMM_NULL && !mpi::finalized()) MPI_Comm_free(&comm_);
}

void Comm::barrier() const { mpi::check(MPI_Barrier(comm_), "MPI_Barrier"); }

Comm Comm::node() const {
  MPI_Comm node = MPI_COMM_NULL;
  mpi::check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
             "MPI_Comm_split_type");
  Comm owned(node);  // frees `node` on every path
  owned.owned_ = true;
  return owned;
}

int Comm::ranks_on_node() const { return node().size(); }

std::int64_t Comm::allreduce_sum(std::int64_t v) const {
  std::int64_t out = 0;
  mpi::check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
  return out;
}

std::int64_t Comm::allreduce_max(std::int64_t v) const {
  std::int64_t out = 0;
  mpi::check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_MAX, comm_), "MPI_Allreduce");
  return out;
}

std::int64_t Comm::allreduce_min(std::int64_t v) const {
  std::int64_t out = 0;
  mpi::check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_MIN, comm_), "MPI_Allreduce");
  return out;
}

double Comm::allreduce_sum(double v) const {
  double out = 0;
  mpi::check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  return out;
}

double Comm::allreduce_max(double v) const {
  double out = 0;
  mpi::check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return out;
}

void Comm::allreduce_sum(std::vector<std::int64_t>& v) const {
  // Every rank must pass the same length; a mismatch would be undefined behaviour in
  // MPI, so it is checked (collectively, so that all ranks throw together).
  const auto n = static_cast<std::int64_t>(v.size());
  PM_CHECK(allreduce_min(n) == allreduce_max(n),
           "allreduce_sum: vectors of different lengths on different ranks");
  if (v.empty()) return;
  PM_CHECK(v.size() <= static_cast<std::size_t>(INT_MAX), "allreduce_sum: vector too long");
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_INT64_T,
                           MPI_SUM, comm_),
             "MPI_Allreduce");
}

void Comm::allreduce_sum(std::vector<double>& v) const {
  const auto n = static_cast<std::int64_t>(v.size());
  PM_CHECK(allreduce_min(n) == allreduce_max(n),
           "allreduce_sum: vectors of different lengths on different ranks");
  if (v.empty()) return;
  PM_CHECK(v.size() <= static_cast<std::size_t>(INT_MAX), "allreduce_sum: vector too long");
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE,
                           MPI_SUM, comm_),
             "MPI_Allreduce");
}

std::int64_t Comm::exscan_sum(std::int64_t v) const {
  std::int64_t out = 0;
  mpi::check(MPI_Exscan(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Exscan");
  // MPI leaves the receive buffer of rank 0 undefined.
  return rank_ == 0 ? 0 : out;
}

bool Comm::all_true(bool v) const {
  int in = v ? 1 : 0;
  int out = 0;
  mpi::check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LAND, comm_), "MPI_Allreduce");
  return out != 0;
}

std::vector<std::int64_t> Comm::allgather(std::int64_t v) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(size_));
  mpi::check(MPI_Allgather(&v, 1, MPI_INT64_T, out.data(), 1, MPI_INT64_T, comm_),
             "MPI_Allgather");
  return out;
}

std::string Comm::broadcast(std::string s, int root) const {
  std::uint64_t n = s.size();
  mpi::check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, comm_), "MPI_Bcast");
  if (rank_ != root) s.resize(n);
  for (std::size_t done = 0; done < n;) {
    const std::size_t piece = std::min<std::size_t>(kMaxChunk, n - done);
    mpi::check(MPI_Bcast(s.data() + done, static_cast<int>(piece), MPI_BYTE, root, comm_),
               "MPI_Bcast");
    done += piece;
  }
  return s;
}

std::vector<std::string> Comm::allgatherv(const std::string& mine) const {
  const std::vector<std::int64_t> sizes = allgather(static_cast<std::int64_t>(mine.size()));
  std::int64_t total = 0;
  for (std::int64_t s : sizes) total += s;
  // Every rank sees the same sizes, so every rank takes the same branch here.
  PM_CHECK(total <= INT_MAX, "allgatherv: " + std::to_string(total) +
                                 " bytes in all exceed one MPI call (2 GiB)");
  std::vector<int> counts(sizes.size());
  std::vector<int> displs(sizes.size());
  int offset = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    counts[r] = static_cast<int>(sizes[r]);
    displs[r] = offset;
    offset += counts[r];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  // A non-null send/receive pointer even for zero bytes: some MPI builds check it.
  char dummy = 0;
  mpi::check(MPI_Allgatherv(mine.empty() ? &dummy : mine.data(), static_cast<int>(mine.size()),
                            MPI_BYTE, all.empty() ? &dummy : all.data(), counts.data(),
                            displs.data(), MPI_BYTE, comm_),
             "MPI_Allgatherv");
  std::vector<std::string> out;
  out.reserve(sizes.size());
  for (std::size_t r = 0; r < sizes.size(); ++r)
    out.push_back(all.substr(static_cast<std::size_t>(displs[r]), static_cast<std::size_t>(counts[r])));
  return out;
}

}  // namespace pm
