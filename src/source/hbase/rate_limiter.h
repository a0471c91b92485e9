// A byte-rate limit shared by the reader threads of one rank (--max-read-mbps). Each
// acquire() reserves the next slot of the shared timeline and sleeps until it ends, so the
// threads together never exceed the rate over any window longer than one call.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

namespace pm::hbase {

class RateLimiter {
 public:
  explicit RateLimiter(double bytes_per_second) : rate_(bytes_per_second) {}
  bool enabled() const { return rate_ > 0; }
  void acquire(std::int64_t bytes) {
    if (rate_ <= 0 || bytes <= 0) return;
    using clock = std::chrono::steady_clock;
    const auto cost = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(static_cast<double>(bytes) / rate_));
    clock::time_point until;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = clock::now();
      if (next_ < now) next_ = now;
      next_ += cost;
      until = next_;
    }
    std::this_thread::sleep_until(until);
  }

 private:
  double rate_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace pm::hbase
