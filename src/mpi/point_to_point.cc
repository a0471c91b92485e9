// pm::Request and the point-to-point calls: every MPI return code checked.
#include "pixelmill/point_to_point.h"

#include <string>
#include <utility>

#include "mpi_check.h"
#include "words.h"

namespace pm {

namespace {

// Values in a received message, from its status; a message that ends inside a value
// (the sender used another type) is an error of the caller, reported as one.
std::size_t received_values(const MPI_Status& status, std::size_t element_bytes) {
  const mpi::Words w = mpi::words_for(element_bytes);
  int words = 0;
  mpi::check(MPI_Get_count(&status, w.type, &words), "MPI_Get_count");
  PM_CHECK(words != MPI_UNDEFINED, "a message that is not a whole number of words");
  const auto bytes = static_cast<std::size_t>(words) * w.bytes;
  PM_CHECK(bytes % element_bytes == 0, "a message of " + std::to_string(bytes) +
                                           " bytes is not a whole number of " +
                                           std::to_string(element_bytes) + "-byte values");
  return bytes / element_bytes;
}

}  // namespace

Request::Request(Request&& other) noexcept
    : req_(std::exchange(other.req_, MPI_REQUEST_NULL)),
      element_bytes_(other.element_bytes_),
      sent_(other.sent_),
      receive_(other.receive_) {}

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    Request doomed(std::move(*this));  // cancels our own transfer, if pending
    req_ = std::exchange(other.req_, MPI_REQUEST_NULL);
    element_bytes_ = other.element_bytes_;
    sent_ = other.sent_;
    receive_ = other.receive_;
  }
  return *this;
}

Request::~Request() {
  if (req_ == MPI_REQUEST_NULL || mpi::finalized()) return;
  // A destructor cannot report: a failure here (only seen with MPI_ERRORS_RETURN; the
  // default handler aborts first) leaves the error the stack is unwinding for as the one
  // reported.
  try {
    cancel();
  } catch (...) {
  }
}

std::size_t Request::wait() {
  if (req_ == MPI_REQUEST_NULL) return 0;
  MPI_Status status;
  const int rc = MPI_Wait(&req_, &status);
  req_ = MPI_REQUEST_NULL;  // MPI frees a completed request; a failed one is not retried
  mpi::check(rc, "MPI_Wait");
  return receive_ ? received_values(status, element_bytes_) : sent_;
}

bool Request::cancel() {
  if (req_ == MPI_REQUEST_NULL) return false;
  const int rc_cancel = MPI_Cancel(&req_);
  // The wait after a cancel is local (MPI 3.1, 3.8.4) except for a send the library
  // cannot cancel; it releases the buffer and frees the request.
  MPI_Status status;
  const int rc_wait = MPI_Wait(&req_, &status);
  req_ = MPI_REQUEST_NULL;
  mpi::check(rc_cancel, "MPI_Cancel");
  mpi::check(rc_wait, "MPI_Wait");
  int cancelled = 0;
  mpi::check(MPI_Test_cancelled(&status, &cancelled), "MPI_Test_cancelled");
  return cancelled != 0;
}

Request isend_raw(const Comm& comm, const void* data, std::size_t count,
                  std::size_t element_bytes, int dest, int tag) {
  const mpi::Words w = mpi::words_for(element_bytes);
  const int words = mpi::word_count(count, element_bytes, "isend");
  Request r;
  r.element_bytes_ = element_bytes;
  r.sent_ = count;
  mpi::check(MPI_Isend(data, words, w.type, dest, tag, comm.raw(), &r.req_), "MPI_Isend");
  return r;
}

Request irecv_raw(const Comm& comm, void* data, std::size_t capacity, std::size_t element_bytes,
                  int source, int tag) {
  const mpi::Words w = mpi::words_for(element_bytes);
  const int words = mpi::word_count(capacity, element_bytes, "irecv");
  Request r;
  r.element_bytes_ = element_bytes;
  r.receive_ = true;
  mpi::check(MPI_Irecv(data, words, w.type, source, tag, comm.raw(), &r.req_), "MPI_Irecv");
  return r;
}

void send_raw(const Comm& comm, const void* data, std::size_t count, std::size_t element_bytes,
              int dest, int tag) {
  const mpi::Words w = mpi::words_for(element_bytes);
  const int words = mpi::word_count(count, element_bytes, "send");
  mpi::check(MPI_Send(data, words, w.type, dest, tag, comm.raw()), "MPI_Send");
}

void recv_raw(const Comm& comm, int source, int tag, std::size_t element_bytes,
              const std::function<void*(std::size_t count)>& allocate) {
  // A matched probe: the message sized is the message received, even if another message
  // from `source` with `tag` arrives in between.
  MPI_Message message = MPI_MESSAGE_NULL;
  MPI_Status status;
  mpi::check(MPI_Mprobe(source, tag, comm.raw(), &message, &status), "MPI_Mprobe");
  const std::size_t count = received_values(status, element_bytes);
  void* into = allocate(count);
  const mpi::Words w = mpi::words_for(element_bytes);
  mpi::check(MPI_Mrecv(into, mpi::word_count(count, element_bytes, "recv"), w.type, &message,
                       MPI_STATUS_IGNORE),
             "MPI_Mrecv");
}

}  // namespace pm
