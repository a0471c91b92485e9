// Reader threads: each takes a claimed split from `splits`, reads its records in key
// order from the Source, appends one row per record to the split (SplitTracker) and hands
// the records with bytes to decoding. Records the source could not read, and keys over
// --max-key-bytes, get their final row here and go no further. The last reader to end
// closes the decode queue. A reader's exception is captured into the ErrorSlot.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "bounded_queue.h"
#include "decode_stage.h"
#include "error_slot.h"
#include "pixelmill/source.h"
#include "split_tracker.h"
#include "stats.h"
#include "thread_spawner.h"

namespace pm::pipeline {

class ReadStage {
 public:
  ReadStage(Source& source, SplitTracker& tracker, BoundedQueue<const SplitSpec*>& splits,
            BoundedQueue<DecodeItem>& out, ErrorSlot& error, RankStats& stats,
            std::int64_t max_key_bytes);
  ReadStage(const ReadStage&) = delete;
  ReadStage& operator=(const ReadStage&) = delete;
  ~ReadStage() { join(); }  // the owner closes the queues first

  // Starts `threads` readers. Throws std::system_error when one cannot be started; the
  // ones started run on until join().
  void start(int threads, const ThreadSpawner& spawn);
  // Stopping early: splits not yet begun are skipped, the split being read is cut short
  // (SplitTracker drops it). Any thread.
  void stop() { stopping_ = true; }
  int started() const { return static_cast<int>(threads_.size()); }
  void join();

 private:
  void run();

  Source& source_;
  SplitTracker& tracker_;
  BoundedQueue<const SplitSpec*>& splits_;
  BoundedQueue<DecodeItem>& out_;
  ErrorSlot& error_;
  RankStats& stats_;
  const std::int64_t max_key_bytes_;
  std::atomic<int> left_{0};  // readers not yet ended, of those asked for
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// The row of a record whose key is over the limit: too_large, without the key, and a
// message that says how long the key was and how it begins.
Status key_too_long(const std::string& key, std::int64_t limit);

}  // namespace pm::pipeline
