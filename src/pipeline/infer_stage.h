// The inference thread: runs each full (or, at the end, partial) batch through the
// Embedder made on this thread, writes each image's embedding into its row (L2-normalised
// when the card says so) and reports the row done. A batch that fails gives each of its
// images an inference_error row; the job goes on. Ends when the batch queue is closed and
// drained. Any other exception is captured into the ErrorSlot.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "batch_assembler.h"
#include "decode_balancer.h"
#include "bounded_queue.h"
#include "embedder.h"
#include "error_slot.h"
#include "split_tracker.h"
#include "stats.h"
#include "thread_spawner.h"

namespace pm::pipeline {

struct InferOptions {
  int batch = 16;             // the batch tensors' capacity
  int embedding_output = 0;   // index of the embedding among the outputs
  int dim = 0;                // embedding dimension (model card)
  bool normalize_l2 = false;  // the pipeline L2-normalises
  DecodeBalancer* balancer = nullptr;  // told each batch's CPU time (decode_balancer.h)
};

class InferStage {
 public:
  InferStage(BoundedQueue<std::shared_ptr<Batch>>& ready, BatchAssembler& assembler,
             SplitTracker& tracker, ErrorSlot& error, RankStats& stats,
             EmbedderFactory make_embedder, const InferOptions& options);
  InferStage(const InferStage&) = delete;
  InferStage& operator=(const InferStage&) = delete;
  ~InferStage() { join(); }  // the owner closes the queues first

  // Starts the thread. Throws std::system_error when it cannot be started (the stage is
  // then finished).
  void start(const ThreadSpawner& spawn);
  int started() const { return thread_.joinable() ? 1 : 0; }
  // The thread has ended (or never started): no batch will be run any more.
  bool finished() const { return finished_; }
  void join();

 private:
  void run();

  BoundedQueue<std::shared_ptr<Batch>>& ready_;
  BatchAssembler& assembler_;
  SplitTracker& tracker_;
  ErrorSlot& error_;
  RankStats& stats_;
  EmbedderFactory make_embedder_;
  const InferOptions options_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// Divides `v` (d floats) by its L2 norm; a zero vector stays zero.
void normalize_l2(float* v, int d);

}  // namespace pm::pipeline
