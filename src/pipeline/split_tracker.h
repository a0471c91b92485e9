// The splits a rank is working on, and the ones it has completed. A split is complete
// when its reader reached its end and every row it handed on to decoding has its final
// result (decoded and embedded, or failed): only then can it be written, since a round
// publishes whole splits. Completed splits wait here, their rows counted in bytes, until
// the main thread takes them for a checkpoint round; a split cut short by a stop is
// dropped when its last row is done (a resumed run reads it again from its start).
// Thread-safe: readers, decoders and inference report, the main thread takes.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <vector>

#include "pixelmill/image_result.h"

namespace pm::pipeline {

class SplitTracker {
 public:
  // One split in progress. Its rows never move while it is open (a deque), so stages
  // hold pointers to them.
  struct Split {
    std::uint64_t index = 0;
    std::deque<ImageResult> rows;
    std::atomic<std::int64_t> pending{1};  // rows handed on and not done, + 1 while reading
    bool whole = false;                    // read to its end
  };

  // A reader starts split `index`.
  Split* begin(std::uint64_t index);
  // The reader appends a row to the split (it is done unless handed on).
  static ImageResult& add_row(Split* s) { return s->rows.emplace_back(); }
  // The row is handed on to decoding: its result comes later, through row_done.
  static void hand_on(Split* s) { s->pending.fetch_add(1, std::memory_order_relaxed); }
  // A row that was handed on has its final result.
  void row_done(Split* s);
  // The reader is done with the split: `whole` = false when a stop cut it short.
  void end(Split* s, bool whole);

  // The completed splits, rows moved out; the bytes they held are no longer counted.
  std::vector<SplitResults> take_completed();
  // Bytes held by completed splits not yet taken (keys, messages, embeddings; about).
  std::int64_t completed_bytes() const { return completed_bytes_.load(std::memory_order_relaxed); }
  // Splits begun and neither completed nor dropped.
  std::int64_t open_splits() const;

  static std::int64_t row_bytes(const ImageResult& r);

 private:
  void finish(Split* s);

  mutable std::mutex mu_;
  std::list<Split> open_;  // stable addresses
  std::vector<SplitResults> completed_;
  std::atomic<std::int64_t> completed_bytes_{0};
};

}  // namespace pm::pipeline
