#include "bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace pm::pipeline {

TEST(BoundedQueue, FifoAndDrainAfterClose) {
  BoundedQueue<int> q(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push(i));
  q.close();
  EXPECT_FALSE(q.push(9)) << "a closed queue takes nothing";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.pop(), i);
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(BoundedQueue, ProducersBlockWhenFullAndEveryItemArrivesOnce) {
  BoundedQueue<int> q(3);
  constexpr int kProducers = 4, kPerProducer = 2000;
  std::atomic<int> max_seen{0};
  std::vector<int> seen(kProducers * kPerProducer, 0);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        q.push(p * kPerProducer + i);
        int s = static_cast<int>(q.size());
        int m = max_seen.load();
        while (s > m && !max_seen.compare_exchange_weak(m, s)) {
        }
      }
    });
  std::vector<std::thread> consumers;
  std::mutex mu;
  for (int c = 0; c < 3; ++c)
    consumers.emplace_back([&] {
      while (auto v = q.pop()) {
        std::lock_guard lock(mu);
        seen[*v]++;
      }
    });
  for (auto& t : producers) t.join();
  q.close();
  for (auto& t : consumers) t.join();
  for (int i = 0; i < kProducers * kPerProducer; ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
  EXPECT_LE(max_seen.load(), 3) << "the queue grew past its capacity";
}

}  // namespace pm::pipeline
