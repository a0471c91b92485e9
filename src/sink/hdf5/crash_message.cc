#include "crash_message.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace pm::h5 {

namespace {

// Written by the constructor, read by the handler: only async-signal-safe calls there.
char g_message[1024];
std::size_t g_length = 0;

void on_crash(int) {
  const ssize_t ignored = ::write(STDERR_FILENO, g_message, g_length);
  (void)ignored;
  ::_exit(1);
}

}  // namespace

CrashMessage::CrashMessage(const std::string& message) {
  g_length = std::min(message.size(), sizeof g_message);
  std::memcpy(g_message, message.data(), g_length);
  struct sigaction sa {};
  sa.sa_handler = on_crash;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGSEGV, &sa, &old_segv_);
  sigaction(SIGBUS, &sa, &old_bus_);
}

CrashMessage::~CrashMessage() {
  sigaction(SIGSEGV, &old_segv_, nullptr);
  sigaction(SIGBUS, &old_bus_, nullptr);
}

}  // namespace pm::h5
