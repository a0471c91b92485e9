#include "batch_assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "pixelmill/error.h"

namespace pm::pipeline {
namespace {
Tensor make() { return Tensor(DType::kF32, {4, 2}); }
}  // namespace

TEST(BatchAssembler, ShipsFullBatchesThenTheFlushedRemainder) {
  BoundedQueue<std::shared_ptr<Batch>> ready(3);
  BatchAssembler a(4, 3, make, ready);
  std::vector<ImageResult> rows(6);
  for (int i = 0; i < 6; ++i) {
    auto slot = a.acquire(&rows[i]);
    slot.batch->tensor.ptr<float>()[slot.index * 2] = static_cast<float>(i);
    a.commit(slot, /*ok=*/i != 1);
  }
  auto first = ready.pop();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)->reserved, 4);
  EXPECT_EQ((*first)->rows[0], &rows[0]);
  EXPECT_EQ((*first)->rows[1], nullptr) << "an abandoned slot is a hole";
  EXPECT_EQ((*first)->tensor.ptr<float>()[3 * 2], 3.0f);
  EXPECT_EQ(ready.size(), 0u) << "the second batch is not full yet";
  a.flush();
  auto second = ready.pop();
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)->reserved, 2);
  EXPECT_EQ((*second)->rows[1], &rows[5]);
}

TEST(BatchAssembler, ABatchWaitsForItsSlowestSlot) {
  BoundedQueue<std::shared_ptr<Batch>> ready(2);
  BatchAssembler a(2, 2, make, ready);
  std::vector<ImageResult> rows(2);
  auto s0 = a.acquire(&rows[0]);
  auto s1 = a.acquire(&rows[1]);
  a.commit(s1, true);
  EXPECT_EQ(ready.size(), 0u);
  a.commit(s0, true);
  EXPECT_EQ(ready.size(), 1u);
}

TEST(BatchAssembler, AcquireBlocksUntilABatchTensorIsReleased) {
  BoundedQueue<std::shared_ptr<Batch>> ready(1);
  BatchAssembler a(1, 1, make, ready);
  std::vector<ImageResult> rows(2);
  a.commit(a.acquire(&rows[0]), true);
  auto b = ready.pop();
  std::atomic<bool> got{false};
  std::thread t([&] {
    a.commit(a.acquire(&rows[1]), true);
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got.load()) << "the only batch tensor is still in flight";
  a.release(*b);
  t.join();
  EXPECT_TRUE(got.load());
}

TEST(BatchAssembler, AbortWakesAnAcquireThatWouldWaitForever) {
  // After an error the ready queue is closed and nobody gives batches back: a decoder
  // waiting for a free batch must not wait forever (its thread could not be joined).
  BoundedQueue<std::shared_ptr<Batch>> ready(1);
  BatchAssembler a(1, 1, make, ready);
  std::vector<ImageResult> rows(2);
  a.commit(a.acquire(&rows[0]), true);  // the only batch is now in flight
  ready.close();
  std::thread waiter([&] { EXPECT_THROW(a.acquire(&rows[1]), Error); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  a.abort();
  waiter.join();
  EXPECT_THROW(a.acquire(&rows[1]), Error) << "aborted for good";
}

TEST(BatchAssembler, DecodersWaitingForATensorFillOneBatch) {
  // Both tensors in flight; two decoders wait for one. When the first tensor comes back
  // one decoder starts a batch in it; the second must fill that batch, not start one in
  // the next tensor given back: that would leave the first batch (with a reserved slot)
  // never shipped and its row never done.
  auto make2 = [] { return Tensor(DType::kF32, {2, 2}); };
  BoundedQueue<std::shared_ptr<Batch>> ready(2);
  BatchAssembler a(2, 2, make2, ready);
  std::vector<ImageResult> rows(6);
  for (int i = 0; i < 4; ++i) a.commit(a.acquire(&rows[i]), true);
  auto first = ready.pop();
  auto second = ready.pop();
  ASSERT_TRUE(first && second);
  std::vector<std::thread> decoders;
  for (int i = 4; i < 6; ++i) decoders.emplace_back([&, i] { a.commit(a.acquire(&rows[i]), true); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // both wait for a tensor
  a.release(*first);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // one has started a batch
  a.release(*second);
  for (auto& t : decoders) t.join();
  a.flush();
  ready.close();
  std::vector<ImageResult*> shipped;
  while (auto b = ready.pop())
    for (int i = 0; i < (*b)->reserved; ++i) shipped.push_back((*b)->rows[i]);
  std::sort(shipped.begin(), shipped.end());
  EXPECT_EQ(shipped, (std::vector<ImageResult*>{&rows[4], &rows[5]})) << "each row shipped once";
}

}  // namespace pm::pipeline
