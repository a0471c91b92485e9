// The decode/inference balance: the rule, the gate, and the balancer fed measured costs.
#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "decode_balancer.h"

namespace pm::pipeline {
namespace {

constexpr std::int64_t kMs = 1'000'000;  // ns

TEST(BalancedDecoders, EnoughDecodersForTheCoresShareThatDecodingNeeds) {
  // need = cores * d / (d + c)
  EXPECT_EQ(balanced_decoders(3, 1, 2, 2, 1), 2);     // decoding 3/4 of the work: 1.5 -> 2
  EXPECT_EQ(balanced_decoders(1, 3, 2, 2, 2), 1);     // 0.5 -> 1
  EXPECT_EQ(balanced_decoders(1, 1, 16, 16, 8), 8);   // 8 exactly: stays
  EXPECT_EQ(balanced_decoders(1, 7, 16, 16, 8), 3);   // 2: shrinks to 3 (2 * 1.1 = 2.2)
  EXPECT_EQ(balanced_decoders(7, 1, 16, 16, 8), 14);  // 14
  EXPECT_EQ(balanced_decoders(1, 0, 16, 16, 8), 16);  // nothing else to do: every core decodes
  EXPECT_EQ(balanced_decoders(9, 1, 16, 12, 8), 12);  // never more than started
  EXPECT_EQ(balanced_decoders(1, 99, 16, 16, 8), 1);  // never fewer than one
}

TEST(BalancedDecoders, NoiseAroundABoundaryDoesNotFlap) {
  // need = 1.0 +- 5 %: neither grows from 1 nor shrinks from 2.
  for (double d : {0.95, 1.0, 1.05}) {
    EXPECT_EQ(balanced_decoders(d, 1, 2, 2, 1), 1) << d;
    EXPECT_EQ(balanced_decoders(d, 1, 2, 2, 2), 2) << d;
  }
  EXPECT_EQ(balanced_decoders(1.3, 1, 2, 2, 1), 2);  // need 1.13: grows
  EXPECT_EQ(balanced_decoders(0.8, 1, 2, 2, 2), 1);  // need 0.89: 0.98 fits in one
}

TEST(BalancedDecoders, UnknownCostsChangeNothing) {
  EXPECT_EQ(balanced_decoders(0, 1, 8, 8, 3), 3);
  EXPECT_EQ(balanced_decoders(-1, 1, 8, 8, 3), 3);
  EXPECT_EQ(balanced_decoders(1, -1, 8, 8, 3), 3);
  EXPECT_EQ(balanced_decoders(std::numeric_limits<double>::quiet_NaN(), 1, 8, 8, 3), 3);
  EXPECT_EQ(balanced_decoders(std::numeric_limits<double>::infinity(), 1, 8, 8, 3), 3);
}

TEST(DecodeGate, LetsInAtMostTheLimitAndFollowsItsChanges) {
  DecodeGate gate(2);
  std::atomic<int> inside{0}, most{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      for (int n = 0; n < 20; ++n) {
        gate.enter();
        const int now = ++inside;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        --inside;
        gate.leave();
      }
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(most.load(), 2);

  // A raised limit lets a waiting thread in at once.
  gate.set_limit(1);
  gate.enter();
  std::atomic<bool> entered{false};
  std::thread waiter([&] {
    gate.enter();
    entered = true;
    gate.leave();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(entered.load());
  gate.set_limit(2);
  waiter.join();
  EXPECT_TRUE(entered.load());
  gate.leave();
}

TEST(DecodeGate, OpenReleasesEveryWaiter) {
  DecodeGate gate(1);
  gate.enter();
  std::atomic<int> passed{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      gate.enter();
      ++passed;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(passed.load(), 0);
  gate.open();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(passed.load(), 3);
}

// Feeds the balancer the CPU time of intervals with a given decode and other cost per image.
void run_intervals(DecodeBalancer& b, std::int64_t& process_ns, double d_ms, double c_ms, int intervals) {
  for (int i = 0; i < intervals; ++i) {
    for (int n = 0; n < 20; ++n) b.add_decode(static_cast<std::int64_t>(d_ms * kMs));
    process_ns += static_cast<std::int64_t>(20 * (d_ms + c_ms) * kMs);
    b.update_with(process_ns);
  }
}

TEST(DecodeBalancer, FollowsTheMeasuredCostsBothWays) {
  DecodeBalancer b(/*cores=*/8, /*initial=*/4, /*started=*/8, /*balanced=*/true);
  std::int64_t process_ns = 1000 * kMs;
  b.update_with(process_ns);  // the baseline
  EXPECT_EQ(b.gate().limit(), 4);
  run_intervals(b, process_ns, /*decode*/ 9, /*other*/ 1, 6);  // need 7.2
  EXPECT_EQ(b.gate().limit(), 8);
  run_intervals(b, process_ns, 1, 9, 8);  // need 0.8
  EXPECT_EQ(b.gate().limit(), 1);
  const DecodeBalance s = b.summary();
  EXPECT_TRUE(s.balanced);
  EXPECT_EQ(s.started, 8);
  EXPECT_EQ(s.last, 1);
  EXPECT_EQ(s.fewest, 1);
  EXPECT_EQ(s.most, 8);
}

TEST(DecodeBalancer, WaitsForEnoughImagesAndStaysFixedWhenNotBalanced) {
  DecodeBalancer b(8, 4, 8, true);
  std::int64_t process_ns = 0;
  b.update_with(process_ns);
  for (int n = 0; n < 3; ++n) b.add_decode(9 * kMs);  // 3 images: too few to judge
  b.update_with(process_ns += 30 * kMs);
  EXPECT_EQ(b.gate().limit(), 4);

  DecodeBalancer fixed(8, 4, 8, false);
  std::int64_t p = 0;
  fixed.update_with(p);
  run_intervals(fixed, p, 9, 1, 4);
  EXPECT_EQ(fixed.gate().limit(), 4);
  EXPECT_FALSE(fixed.summary().balanced);

  DecodeBalancer one(8, 1, 1, true);  // one decode thread: nothing to balance
  EXPECT_FALSE(one.summary().balanced);
}

}  // namespace
}  // namespace pm::pipeline
