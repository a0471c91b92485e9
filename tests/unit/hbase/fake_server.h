// A stand-in for a broken or hostile Thrift server: one connection on 127.0.0.1, each
// request answered with the same bytes, whatever was asked. For client tests that need a
// server to lie about lengths; nothing is parsed.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace pm::hbase::testing {

// Owns a file descriptor (closed once, in the destructor).
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class FakeServer {
 public:
  // Listens at once; serves one connection on a thread until the client closes it.
  explicit FakeServer(std::string reply);
  ~FakeServer();  // stops and joins
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  void serve();
  std::string reply_;
  Fd listener_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace pm::hbase::testing
