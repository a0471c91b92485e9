// pm::Watchdog: one thread asleep on a condition variable until the deadline or disarm.
#include "pixelmill/watchdog.h"

#include <utility>

namespace pm {

Watchdog::Watchdog(std::chrono::milliseconds grace, std::function<void()> on_expiry) {
  // The thread starts last, when every member it reads exists.
  thread_ = std::thread([this, grace, fire = std::move(on_expiry)] {
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, grace, [this] { return disarmed_; })) return;
    // Fired under the lock: the destructor cannot pass disarm while the handler runs,
    // so the handler never outlives the objects it was given.
    fire();
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    disarmed_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace pm
