#include "response_budget.h"

#include <string>

namespace pm::hbase {

namespace tt = apache::thrift::transport;

ResponseTooLarge::ResponseTooLarge(std::int64_t budget)
    : tt::TTransportException(tt::TTransportException::CORRUPTED_DATA,
                              "response larger than the client's limit of " +
                                  std::to_string(budget) + " bytes (MaxMessageSize)") {}

ResponseBudget::ResponseBudget(std::shared_ptr<tt::TTransport> inner, std::int64_t max_response_bytes)
    : inner_(std::move(inner)), max_(max_response_bytes) {}

uint32_t ResponseBudget::read(uint8_t* buf, uint32_t len) {
  // Never ask the socket for more than the budget leaves (plus one byte, to see the
  // overflow): the check then holds however large the caller's buffer is.
  const std::int64_t left = max_ - read_ + 1;
  if (left <= 0) throw ResponseTooLarge(max_);
  if (static_cast<std::int64_t>(len) > left) len = static_cast<uint32_t>(left);
  const uint32_t got = inner_->read(buf, len);
  read_ += got;
  if (read_ > max_) throw ResponseTooLarge(max_);
  return got;
}

void ResponseBudget::write(const uint8_t* buf, uint32_t len) {
  read_ = 0;  // a new request: its response gets the whole budget
  inner_->write(buf, len);
}

}  // namespace pm::hbase
