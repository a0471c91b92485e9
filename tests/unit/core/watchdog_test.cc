// pm::Watchdog: fires once after the grace period, never when disarmed in time.
#include "pixelmill/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace pm {
namespace {

using namespace std::chrono_literals;

TEST(Watchdog, FiresWhenTheStepOverruns) {
  std::atomic<int> fired{0};
  const auto start = std::chrono::steady_clock::now();
  {
    Watchdog w(50ms, [&] { ++fired; });
    std::this_thread::sleep_for(400ms);  // the step that does not return in time
  }
  EXPECT_EQ(fired.load(), 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(Watchdog, SilentWhenTheStepReturnsInTime) {
  std::atomic<int> fired{0};
  const auto start = std::chrono::steady_clock::now();
  {
    Watchdog w(10s, [&] { ++fired; });
  }
  EXPECT_EQ(fired.load(), 0);
  // Disarming wakes the thread at once: no waiting out the grace period.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace pm
