// SIGTERM and SIGINT as a request to stop early (Slurm sends SIGTERM before a time
// limit or on preemption). While a StopSignals lives, the first such signal only sets a
// flag that the job polls; the handler is then reset, so a second signal ends the
// process at once (the default action).
#pragma once

#include <csignal>

namespace pm::app {

// The exit status of an extract stopped early: EX_TEMPFAIL (sysexits.h), "try again".
// The output is incomplete and `--resume` continues it.
inline constexpr int kExitStopped = 75;

class StopSignals {
 public:
  StopSignals();   // installs the handlers (sigaction)
  ~StopSignals();  // restores the previous ones
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal received (SIGTERM, SIGINT), 0 if none. Safe from any thread.
  static int received();

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

}  // namespace pm::app
