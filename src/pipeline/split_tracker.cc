#include "split_tracker.h"

#include <iterator>

namespace pm::pipeline {

SplitTracker::Split* SplitTracker::begin(std::uint64_t index) {
  std::lock_guard lock(mu_);
  Split& s = open_.emplace_back();
  s.index = index;
  return &s;
}

void SplitTracker::row_done(Split* s) {
  if (s->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) finish(s);
}

void SplitTracker::end(Split* s, bool whole) {
  s->whole = whole;  // published to finish() by the release in row_done's decrement
  row_done(s);       // the reader's own hold
}

std::int64_t SplitTracker::row_bytes(const ImageResult& r) {
  std::size_t objects = r.objects.capacity() * sizeof(ObjectResult);
  for (const ObjectResult& o : r.objects) objects += o.embedding.capacity() * sizeof(float);
  return static_cast<std::int64_t>(sizeof(ImageResult) + r.key.capacity() + r.status.message.capacity() +
                                   r.embedding.capacity() * sizeof(float) + objects);
}

void SplitTracker::finish(Split* s) {
  std::lock_guard lock(mu_);
  if (s->whole) {
    SplitResults done;
    done.split_index = s->index;
    done.rows.assign(std::make_move_iterator(s->rows.begin()), std::make_move_iterator(s->rows.end()));
    std::int64_t bytes = 0;
    for (const ImageResult& r : done.rows) bytes += row_bytes(r);
    completed_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    completed_.push_back(std::move(done));
  }
  for (auto it = open_.begin(); it != open_.end(); ++it)
    if (&*it == s) {
      open_.erase(it);
      break;
    }
}

std::vector<SplitResults> SplitTracker::take_completed() {
  std::lock_guard lock(mu_);
  std::vector<SplitResults> out;
  out.swap(completed_);
  completed_bytes_.store(0, std::memory_order_relaxed);
  return out;
}

std::int64_t SplitTracker::open_splits() const {
  std::lock_guard lock(mu_);
  return static_cast<std::int64_t>(open_.size());
}

}  // namespace pm::pipeline
