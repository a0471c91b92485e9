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

// Feeds the balancer intervals of 20 images with a given decode and inference cost per image
// (CPU-milliseconds; the inference thread's own clock is the team's time / cores).
void run_intervals(DecodeBalancer& b, int cores, double d_ms, double c_ms, int intervals) {
  for (int i = 0; i < intervals; ++i) {
    for (int n = 0; n < 20; ++n) b.add_decode(static_cast<std::int64_t>(d_ms * kMs));
    b.add_infer(static_cast<std::int64_t>(20 * c_ms / cores * kMs), 20);
    b.update();
  }
}

TEST(DecodeBalancer, FollowsTheMeasuredCostsBothWays) {
  DecodeBalancer b(/*cores=*/8, /*initial=*/4, /*started=*/8, /*balanced=*/true);
  EXPECT_EQ(b.gate().limit(), 4);
  run_intervals(b, 8, /*decode*/ 9, /*inference*/ 1, 1);  // need 7.2
  EXPECT_EQ(b.gate().limit(), 8);
  run_intervals(b, 8, 1, 9, 8);  // need 0.8
  EXPECT_EQ(b.gate().limit(), 1);
  const DecodeBalance s = b.summary();
  EXPECT_TRUE(s.balanced);
  EXPECT_EQ(s.started, 8);
  EXPECT_EQ(s.last, 1);
  EXPECT_EQ(s.fewest, 1);
  EXPECT_EQ(s.most, 8);
}

// Where CPU time overstates inference (decoders preempting the OpenMP team), what
// inference saw decides: starved (waited > 10 % of the interval) gets one more decoder
// whatever the costs say; no fewer unless it waited < 5 %.
TEST(DecodeBalancer, AStarvedInferenceGetsMoreDecodersWhateverTheCostsSay) {
  using Clock = std::chrono::steady_clock;
  DecodeBalancer b(/*cores=*/4, /*initial=*/1, /*started=*/4, true);
  Clock::time_point t = Clock::now();
  auto interval = [&](double d_ms, double c_ms, double wait_share) {
    for (int n = 0; n < 20; ++n) b.add_decode(static_cast<std::int64_t>(d_ms * kMs));
    b.add_infer(static_cast<std::int64_t>(20 * c_ms / 4 * kMs), 20);
    b.add_infer_wait(static_cast<std::int64_t>(wait_share * 1000 * kMs));  // of a 1 s interval
    t += std::chrono::seconds(1);
    b.update_at(t);
  };
  b.update_at(t);  // the start of the first interval
  interval(1, 9, 0.30);  // costs say 1 (need 0.4); inference waited 30 %
  EXPECT_EQ(b.gate().limit(), 2);
  interval(1, 9, 0.30);
  EXPECT_EQ(b.gate().limit(), 3);
  interval(1, 9, 0.07);  // between 5 and 10 %: never fewer
  EXPECT_EQ(b.gate().limit(), 3);
  interval(1, 9, 0.01);  // busy: the costs decide
  EXPECT_EQ(b.gate().limit(), 1);
  for (int i = 0; i < 5; ++i) interval(1, 9, 0.50);
  EXPECT_EQ(b.gate().limit(), 4);  // never more than started
}

TEST(DecodeBalancer, WaitsForEnoughImagesAndStaysFixedWhenNotBalanced) {
  DecodeBalancer b(8, 4, 8, true);
  for (int n = 0; n < 3; ++n) b.add_decode(9 * kMs);  // 3 images: too few to judge
  b.add_infer(kMs, 3);
  b.update();
  EXPECT_EQ(b.gate().limit(), 4);
  for (int n = 0; n < 20; ++n) b.add_decode(9 * kMs);  // decoded, but no batch inferred yet
  b.update();
  EXPECT_EQ(b.gate().limit(), 4);

  DecodeBalancer fixed(8, 4, 8, false);
  run_intervals(fixed, 8, 9, 1, 4);
  EXPECT_EQ(fixed.gate().limit(), 4);
  EXPECT_FALSE(fixed.summary().balanced);

  DecodeBalancer one(8, 1, 1, true);  // one decode thread: nothing to balance
  EXPECT_FALSE(one.summary().balanced);
}

}  // namespace
}  // namespace pm::pipeline
