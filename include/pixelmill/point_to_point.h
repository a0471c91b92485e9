// Point-to-point messages between two ranks of a pm::Comm: send_values/recv_values for
// small exchanges (a forest sent down a tree of ranks), isend/irecv for transfers that
// overlap with work (the chunks of the ring join). Values of a ByteCopyable type travel
// as their bytes. Call from the rank's main thread only, like pm::Comm.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <vector>

#include "pixelmill/comm.h"

namespace pm {

// One non-blocking transfer, owned; move-only. The buffer it names must outlive it.
// wait() completes it. Destroying a request that is still pending cancels it and
// completes the cancellation, so a function left by an exception (a ring join step
// that throws) leaves no transfer behind to write into freed memory or to match a
// later message with the same tag.
class Request {
 public:
  Request() = default;  // empty: nothing to wait for
  Request(Request&& other) noexcept;
  Request& operator=(Request&& other) noexcept;  // cancels this request's transfer first
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();

  bool pending() const { return req_ != MPI_REQUEST_NULL; }
  // Blocks until the transfer is done and empties the request. Returns how many values
  // it moved: those received (at most the buffer's capacity), or those sent; 0 if empty.
  // Throws pm::Error when MPI reports a failure.
  std::size_t wait();
  // Cancels a pending transfer and waits until MPI lets go of the buffer; empties the
  // request. True when the transfer was cancelled; false when it had completed (or the
  // request was empty). MPI may be unable to cancel a send that has started (Open MPI's
  // ob1 never cancels sends): it then completes, and this returns once the receiver has
  // taken the message.
  bool cancel();

 private:
  friend Request isend_raw(const Comm&, const void*, std::size_t, std::size_t, int, int);
  friend Request irecv_raw(const Comm&, void*, std::size_t, std::size_t, int, int);

  MPI_Request req_ = MPI_REQUEST_NULL;
  std::size_t element_bytes_ = 1;
  std::size_t sent_ = 0;  // values posted, for a send
  bool receive_ = false;
};

// The untyped calls behind the templates below: `count` values of `element_bytes` each.
// A message is at most INT_MAX words (words.h); a larger one throws pm::Error.
Request isend_raw(const Comm& comm, const void* data, std::size_t count,
                  std::size_t element_bytes, int dest, int tag);
Request irecv_raw(const Comm& comm, void* data, std::size_t capacity, std::size_t element_bytes,
                  int source, int tag);
void send_raw(const Comm& comm, const void* data, std::size_t count, std::size_t element_bytes,
              int dest, int tag);
// Receives the next message from `source` with `tag`, whatever its length: `allocate`
// gets the count of values and returns where to put them.
void recv_raw(const Comm& comm, int source, int tag, std::size_t element_bytes,
              const std::function<void*(std::size_t count)>& allocate);

// A contiguous range of ByteCopyable values (std::vector, std::span, std::array).
template <class R>
concept ValueBuffer = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                      ByteCopyable<std::ranges::range_value_t<R>>;

// Starts sending `values` to `dest`. An lvalue or a view only: the buffer must outlive
// the request.
template <ValueBuffer R>
Request isend(const Comm& comm, R&& values, int dest, int tag) {
  static_assert(std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>,
                "isend of a temporary: the buffer would die before the transfer");
  using T = std::ranges::range_value_t<R>;
  return isend_raw(comm, std::ranges::data(values), std::ranges::size(values), sizeof(T), dest,
                   tag);
}

// Starts receiving up to into.size() values from `source`; wait() says how many came.
template <ValueBuffer R>
Request irecv(const Comm& comm, R&& into, int source, int tag) {
  static_assert(std::is_lvalue_reference_v<R> || std::ranges::borrowed_range<R>,
                "irecv into a temporary: the buffer would die before the transfer");
  using T = std::ranges::range_value_t<R>;
  return irecv_raw(comm, std::ranges::data(into), std::ranges::size(into), sizeof(T), source,
                   tag);
}

// Sends `values` to `dest` and returns when the buffer may be reused.
template <ValueBuffer R>
void send_values(const Comm& comm, const R& values, int dest, int tag) {
  using T = std::ranges::range_value_t<R>;
  send_raw(comm, std::ranges::data(values), std::ranges::size(values), sizeof(T), dest, tag);
}

// Receives one message of any length from `source` (the counterpart of send_values).
template <ByteCopyable T>
std::vector<T> recv_values(const Comm& comm, int source, int tag) {
  std::vector<T> v;
  recv_raw(comm, source, tag, sizeof(T), [&v](std::size_t count) -> void* {
    v.resize(count);
    return v.data();
  });
  return v;
}

}  // namespace pm
