#include "batch_assembler.h"

#include "pixelmill/error.h"

namespace pm::pipeline {

BatchAssembler::BatchAssembler(int capacity, int pool, const std::function<Tensor()>& make_tensor,
                               BoundedQueue<std::shared_ptr<Batch>>& ready)
    : capacity_(capacity), ready_(ready) {
  for (int i = 0; i < pool; ++i) {
    auto b = std::make_shared<Batch>();
    b->tensor = make_tensor();
    b->rows.assign(capacity, nullptr);
    b->tags.assign(capacity, nullptr);
    free_.push_back(std::move(b));
  }
}

std::shared_ptr<Batch> BatchAssembler::take_free(std::unique_lock<std::mutex>& lock) {
  free_cv_.wait(lock, [&] { return !free_.empty() || aborted_; });
  if (aborted_) throw Error("batch assembly stopped after an error");
  auto b = std::move(free_.back());
  free_.pop_back();
  b->reserved = b->filled = 0;
  b->closed = false;
  std::fill(b->rows.begin(), b->rows.end(), nullptr);
  std::fill(b->tags.begin(), b->tags.end(), nullptr);
  return b;
}

BatchAssembler::Slot BatchAssembler::acquire(ImageResult* row, void* tag) {
  std::unique_lock lock(mu_);
  // Several decoders may wait here for a free tensor; the first one woken starts the next
  // batch and the others fill it. Taking a tensor of one's own instead would replace a
  // batch that already holds reserved slots: never shipped, its rows never done.
  free_cv_.wait(lock, [&] { return current_ || !free_.empty() || aborted_; });
  if (!current_) {
    current_ = take_free(lock);
    free_cv_.notify_all();  // the other waiters now have a batch to fill
  }
  Slot s{current_, current_->reserved++};
  current_->rows[s.index] = row;
  current_->tags[s.index] = tag;
  if (current_->reserved == capacity_) {
    current_->closed = true;
    current_.reset();
  }
  return s;
}

void BatchAssembler::commit(const Slot& slot, bool ok) {
  std::lock_guard lock(mu_);
  if (!ok) slot.batch->rows[slot.index] = nullptr;
  slot.batch->filled++;
  maybe_ship(slot.batch);
}

void BatchAssembler::flush() {
  std::lock_guard lock(mu_);
  if (!current_) return;
  auto b = std::move(current_);
  b->closed = true;
  if (b->reserved == 0) {
    free_.push_back(std::move(b));
    free_cv_.notify_one();
    return;
  }
  maybe_ship(b);
}

void BatchAssembler::maybe_ship(const std::shared_ptr<Batch>& b) {
  if (b->closed && b->filled == b->reserved) ready_.push(b);
}

void BatchAssembler::abort() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  free_cv_.notify_all();
}

void BatchAssembler::release(std::shared_ptr<Batch> batch) {
  std::lock_guard lock(mu_);
  free_.push_back(std::move(batch));
  free_cv_.notify_one();
}

}  // namespace pm::pipeline
