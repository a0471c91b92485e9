// The threaded part of a rank: ReadStage -> DecodeStage -> (BatchAssembler) -> InferStage,
// joined by bounded queues, with the SplitTracker that knows which splits are complete
// and the ErrorSlot that any thread's exception goes to. The main thread (RankLoop) feeds
// it claimed splits and polls it; it never throws from a worker thread: errors are read
// through failed()/error_message(). The destructor stops and joins whatever still runs.
#pragma once

#include <memory>
#include <string>

#include "batch_assembler.h"
#include "bounded_queue.h"
#include "decode_balancer.h"
#include "decode_stage.h"
#include "embedder.h"
#include "error_slot.h"
#include "infer_stage.h"
#include "job_config.h"
#include "pixelmill/model_card.h"
#include "pixelmill/source.h"
#include "read_stage.h"
#include "split_tracker.h"
#include "stats.h"
#include "thread_spawner.h"

namespace pm::pipeline {

class RankStages {
 public:
  RankStages(Source& source, const ModelCard& card, const JobConfig& cfg,
             EmbedderFactory make_embedder, RankStats& stats);
  RankStages(const RankStages&) = delete;
  RankStages& operator=(const RankStages&) = delete;
  ~RankStages();

  // Starts the inference thread, then the decoders, then the readers. A thread that cannot
  // be started (the process or the node is out of threads) is this rank's error like any
  // other: captured, the queues closed, the threads already running end; no exception.
  void start(const ThreadSpawner& spawn);

  // --- the main thread's side ---
  bool wants_split() const { return splits_.size() < splits_.capacity(); }
  void give(const SplitSpec& split) { splits_.push(&split); }  // must outlive the stages
  void end_of_splits() { splits_.close(); }  // the readers end once through
  // Stop early: no split begins any more, the ones being read are cut short, the records
  // already read are finished.
  void stop_reading();
  // Another rank failed: every stage stops now, without an error of this rank's (what
  // the stages throw from now on, such as an aborted batch assembly, is not reported).
  void cancel();
  bool finished() const { return infer_.finished(); }  // inference has ended
  bool failed() const { return error_.has(); }
  std::string error_message() const { return error_.message(); }
  SplitTracker& tracker() { return tracker_; }
  // The decode/inference balance: update from the CPU time measured so far (the main
  // thread, every interval), and what it did.
  void balance() { balancer_.update(); }
  DecodeBalance balance_summary() const { return balancer_.summary(); }
  // Waits for every thread; call after end_of_splits(), a stop or cancel().
  void join();

 private:
  const JobConfig& cfg_;
  SplitTracker tracker_;
  BoundedQueue<const SplitSpec*> splits_;
  BoundedQueue<DecodeItem> decode_queue_;
  BoundedQueue<std::shared_ptr<Batch>> ready_;
  BatchAssembler assembler_;
  ErrorSlot error_;
  DecodeBalancer balancer_;
  // Destroyed (joined) before the queues they use.
  InferStage infer_;
  DecodeStage decode_;
  ReadStage read_;
};

}  // namespace pm::pipeline
