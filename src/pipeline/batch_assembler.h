// Fills batch tensors slot by slot from several decode threads and hands each full
// batch to inference. Decode threads preprocess straight into their slot of the batch
// tensor (no per-image float temporaries). A fixed pool of batch tensors bounds memory:
// when all are in flight, acquire() blocks (backpressure on decode).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "bounded_queue.h"
#include "pixelmill/image_result.h"
#include "pixelmill/tensor.h"

namespace pm::pipeline {

struct Batch {
  Tensor tensor;                     // [capacity, ...] as the model card says
  std::vector<ImageResult*> rows;    // rows[i] receives slot i's embedding
  std::vector<void*> tags;           // tags[i]: what the caller tied to slot i (its owner)
  int reserved = 0;                  // slots handed out
  int filled = 0;                    // slots written
  bool closed = false;               // no more slots will be handed out
  int size() const { return filled; }
};

class BatchAssembler {
 public:
  // `make_tensor` builds one batch tensor of `capacity` images; `pool` of them exist.
  BatchAssembler(int capacity, int pool, const std::function<Tensor()>& make_tensor,
                 BoundedQueue<std::shared_ptr<Batch>>& ready);

  struct Slot {
    std::shared_ptr<Batch> batch;
    int index = -1;
  };
  // Reserves the next slot for `row` (blocks while every batch tensor is in flight);
  // `tag` travels with it to inference (extract: the split the row belongs to).
  Slot acquire(ImageResult* row, void* tag = nullptr);
  // The slot has been written (or abandoned: `ok` = false leaves a hole that inference
  // ignores). A batch goes to inference when closed and every reserved slot committed.
  void commit(const Slot& slot, bool ok);
  // Closes the batch being filled (at the end of the input) and hands it on if complete.
  void flush();
  // Inference gives a batch tensor back when done with it.
  void release(std::shared_ptr<Batch> batch);
  // After an error nothing may give batches back (inference has stopped, full batches
  // are dropped at the closed queue): acquire() then throws instead of waiting forever.
  void abort();

 private:
  void maybe_ship(const std::shared_ptr<Batch>& b);  // with mu_ held
  std::shared_ptr<Batch> take_free(std::unique_lock<std::mutex>& lock);

  const int capacity_;
  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<std::shared_ptr<Batch>> free_;
  std::shared_ptr<Batch> current_;
  bool aborted_ = false;
  BoundedQueue<std::shared_ptr<Batch>>& ready_;
};

}  // namespace pm::pipeline
