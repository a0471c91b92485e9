// The first exception of any thread of a rank's pipeline. Threads capture it here instead
// of letting it cross their boundary; the first capture runs `on_first_error` (which closes
// every queue and wakes every stage, so that all threads can be joined) and the rank's
// main thread reads it. Thread-safe.
#pragma once

#include <exception>
#include <functional>
#include <mutex>
#include <string>

namespace pm::pipeline {

class ErrorSlot {
 public:
  explicit ErrorSlot(std::function<void()> on_first_error) : on_error_(std::move(on_first_error)) {}
  ErrorSlot(const ErrorSlot&) = delete;
  ErrorSlot& operator=(const ErrorSlot&) = delete;

  // In a catch block: keeps the exception being handled (only the first one is kept).
  void capture() { capture(std::current_exception()); }
  void capture(std::exception_ptr e);
  // The kept exception's what(); "" when there is none.
  std::string message() const;
  bool has() const;
  void rethrow() const;
  // From now on captures are dropped: the rank is being stopped because another rank
  // failed, and what its stages throw while they are torn down (an aborted batch
  // assembly) is a consequence of that, not an error of this rank to report.
  void ignore_later();

 private:
  std::function<void()> on_error_;
  mutable std::mutex mu_;
  std::exception_ptr error_;
  bool ignoring_ = false;
};

}  // namespace pm::pipeline
