// A deadline on a step that may never return: runs `on_expiry` on its own thread when
// the step (the lifetime of the Watchdog) takes longer than `grace`. main() puts
// MPI_Finalize under one when a rank leaves on an error, so that a rank whose peers can
// no longer finish (one is gone, or waits in a collective call) ends the job instead of
// waiting forever. `on_expiry` runs at most once, never after the destructor returned;
// it is expected to end the process (MPI_Abort), so it need not be quick to return.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace pm {

class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds grace, std::function<void()> on_expiry);
  ~Watchdog();  // disarms: the step returned in time (joins the thread)
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;
};

}  // namespace pm
