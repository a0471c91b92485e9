// A transport between the socket and the Thrift transport that counts the bytes of each
// response and refuses more than a budget. libthrift 0.17's own message budget counts only
// bytes borrowed from its buffer, not a long string read straight from the socket, so
// without this a server could stream into one call without end. The count starts again
// with each request: a client writes, then reads one response.
#pragma once

#include <thrift/transport/TTransportException.h>
#include <thrift/transport/TVirtualTransport.h>

#include <cstdint>
#include <memory>

namespace pm::hbase {

// Thrown when a response outgrows the budget. A transport error (the stream is cut
// mid-message, the connection must go), but not a server failure: the scan reader asks
// for fewer rows instead of counting it as a retry.
class ResponseTooLarge : public apache::thrift::transport::TTransportException {
 public:
  explicit ResponseTooLarge(std::int64_t budget);
};

class ResponseBudget final
    : public apache::thrift::transport::TVirtualTransport<ResponseBudget> {
 public:
  ResponseBudget(std::shared_ptr<apache::thrift::transport::TTransport> inner,
                 std::int64_t max_response_bytes);

  bool isOpen() const override { return inner_->isOpen(); }
  bool peek() override { return inner_->peek(); }
  void open() override { inner_->open(); }
  void close() override { inner_->close(); }
  void flush() override { inner_->flush(); }
  uint32_t read(uint8_t* buf, uint32_t len);
  void write(const uint8_t* buf, uint32_t len);
  const std::string getOrigin() const override { return inner_->getOrigin(); }

 private:
  std::shared_ptr<apache::thrift::transport::TTransport> inner_;
  std::int64_t max_;
  std::int64_t read_ = 0;  // bytes of the current response so far
};

}  // namespace pm::hbase
