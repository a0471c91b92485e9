#include "fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>

namespace pm::hbase::testing {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Waits up to `ms` for `fd` to be readable; false on timeout.
bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

}  // namespace

FakeServer::FakeServer(std::string reply)
    : reply_(std::move(reply)), listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
  if (listener_.get() < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_.get(), 1) != 0)
    throw std::runtime_error("bind/listen on 127.0.0.1 failed");
  socklen_t len = sizeof a;
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeServer::~FakeServer() {
  stop_ = true;
  thread_.join();
}

void FakeServer::serve() {
  // Poll in short steps so that the destructor's stop flag is seen.
  while (!stop_ && !readable(listener_.get(), 50)) {
  }
  if (stop_) return;
  Fd conn(::accept(listener_.get(), nullptr, nullptr));
  if (conn.get() < 0) return;
  // A client that stops reading without closing must not hang the test's destructor.
  timeval tv{10, 0};
  ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char buf[65536];
  while (!stop_) {
    if (!readable(conn.get(), 50)) continue;
    // One request: whatever arrives until the client pauses (it then waits for us).
    bool closed = false;
    do {
      const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
    } while (readable(conn.get(), 100));
    if (closed) return;
    ++requests_;
    std::size_t sent = 0;
    while (sent < reply_.size() && !stop_) {
      // A client that gave up closes the socket: EPIPE, not SIGPIPE.
      const ssize_t n = ::send(conn.get(), reply_.data() + sent, reply_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
}

}  // namespace pm::hbase::testing
