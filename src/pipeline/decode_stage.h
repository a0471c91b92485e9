// Decode threads: for each record handed on by the readers, the content hash, the decode
// (pixel limit from the header first), the perceptual hash, with --detector the objects
// (object_annotator.h), and preprocessing straight
// into a slot of a batch tensor (BatchAssembler). Each record is processed inside the
// DecodeBalancer's gate, and its thread CPU time is measured for the balancing. An image that cannot be decoded or
// preprocessed gets its row's status here (the job goes on); the last decoder to end
// flushes the partial batch and closes the inference queue. A decoder's exception is
// captured into the ErrorSlot.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "batch_assembler.h"
#include "bounded_queue.h"
#include "decode_balancer.h"
#include "error_slot.h"
#include "object_annotator.h"
#include "pixelmill/decode.h"
#include "pixelmill/model_card.h"
#include "split_tracker.h"
#include "stats.h"
#include "thread_spawner.h"

namespace pm::pipeline {

// A record on its way from a reader to a decoder: its row (owned by its split) and bytes.
struct DecodeItem {
  ImageResult* row = nullptr;
  SplitTracker::Split* split = nullptr;
  std::string bytes;
};

class DecodeStage {
 public:
  DecodeStage(BoundedQueue<DecodeItem>& in, BatchAssembler& assembler,
              BoundedQueue<std::shared_ptr<Batch>>& ready, SplitTracker& tracker, ErrorSlot& error,
              RankStats& stats, DecodeBalancer& balancer, const ModelCard& card,
              const DecodeOptions& options, AnnotatorFactory make_annotator = {});
  DecodeStage(const DecodeStage&) = delete;
  DecodeStage& operator=(const DecodeStage&) = delete;
  ~DecodeStage() { join(); }  // the owner closes the queues first

  // Starts `threads` decoders. Throws std::system_error when one cannot be started; the
  // ones started run on until join().
  void start(int threads, const ThreadSpawner& spawn);
  int started() const { return static_cast<int>(threads_.size()); }
  void join();

 private:
  void run();

  BoundedQueue<DecodeItem>& in_;
  BatchAssembler& assembler_;
  BoundedQueue<std::shared_ptr<Batch>>& ready_;
  SplitTracker& tracker_;
  ErrorSlot& error_;
  RankStats& stats_;
  DecodeBalancer& balancer_;  // how many decoders work at once (decode_balancer.h)
  const ModelCard& card_;
  const DecodeOptions options_;
  const AnnotatorFactory make_annotator_;  // extract --detector; empty otherwise
  std::atomic<int> left_{0};  // decoders not yet ended, of those asked for
  std::vector<std::thread> threads_;
};

}  // namespace pm::pipeline
