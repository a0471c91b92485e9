// pm::app::StopSignals: an async-signal-safe flag set by SIGTERM/SIGINT.
#include "stop_signals.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

#include "pixelmill/error.h"

namespace pm::app {
namespace {

std::atomic<int> g_received{0};
static_assert(std::atomic<int>::is_always_lock_free, "the flag is set from a signal handler");

void on_signal(int signo) {
  g_received.store(signo, std::memory_order_relaxed);
  // write(2) is async-signal-safe; stdio is not.
  static const char msg[] =
      "pixelmill: stop requested; finishing the work in flight (signal again to abort)\n";
  const ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

void install(int signo, struct sigaction& old) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the default action is back after the first signal, so a second
  // one terminates the process immediately.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  if (sigaction(signo, &sa, &old) != 0)
    throw Error(std::string("sigaction: ") + std::strerror(errno));
}

}  // namespace

StopSignals::StopSignals() {
  g_received.store(0);
  install(SIGTERM, old_term_);
  install(SIGINT, old_int_);
}

StopSignals::~StopSignals() {
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
}

int StopSignals::received() { return g_received.load(std::memory_order_relaxed); }

}  // namespace pm::app
