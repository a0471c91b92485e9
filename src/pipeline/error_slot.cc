#include "error_slot.h"

namespace pm::pipeline {

void ErrorSlot::capture(std::exception_ptr e) {
  {
    std::lock_guard lock(mu_);
    if (error_ || ignoring_) return;
    error_ = std::move(e);
  }
  on_error_();  // unblock every stage so that all threads can be joined
}

std::string ErrorSlot::message() const {
  std::lock_guard lock(mu_);
  if (!error_) return {};
  try {
    std::rethrow_exception(error_);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

bool ErrorSlot::has() const {
  std::lock_guard lock(mu_);
  return error_ != nullptr;
}

void ErrorSlot::ignore_later() {
  std::lock_guard lock(mu_);
  ignoring_ = true;
}

void ErrorSlot::rethrow() const {
  std::lock_guard lock(mu_);
  if (error_) std::rethrow_exception(error_);
}

}  // namespace pm::pipeline
