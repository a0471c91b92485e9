#include "read_stage.h"

#include <chrono>
#include <cstdio>

namespace pm::pipeline {

using Clock = std::chrono::steady_clock;

// A key over the limit is not stored: it would widen the key column of every row (the
// column is as wide as the longest key) and, cut short, could name another record (an
// HBase row whose key is its prefix). The row stays, keyless, so that every input record
// appears exactly once; its message says how long the key was and how it begins.
Status key_too_long(const std::string& key, std::int64_t limit) {
  std::string start;
  for (std::size_t i = 0; i < key.size() && start.size() < 64; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      start += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      start += hex;
    }
  }
  return Status::error(StatusCode::kTooLarge,
                       "key of " + std::to_string(key.size()) + " bytes is over --max-key-bytes " +
                           std::to_string(limit) + "; not stored. It begins: " + start);
}

ReadStage::ReadStage(Source& source, SplitTracker& tracker, BoundedQueue<const SplitSpec*>& splits,
                     BoundedQueue<DecodeItem>& out, ErrorSlot& error, RankStats& stats,
                     std::int64_t max_key_bytes)
    : source_(source), tracker_(tracker), splits_(splits), out_(out), error_(error), stats_(stats),
      max_key_bytes_(max_key_bytes) {}

void ReadStage::start(int threads, const ThreadSpawner& spawn) {
  left_ = threads;
  for (int i = 0; i < threads; ++i) threads_.push_back(spawn([this] { run(); }));
}

void ReadStage::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void ReadStage::run() {
  try {
    while (auto split = splits_.pop()) {
      if (stopping_) continue;  // claimed but not started: left for a resumed run
      SplitTracker::Split* st = tracker_.begin((*split)->index);
      auto t = Clock::now();
      bool cut = false;
      source_.read_split(**split, [&](Record&& rec) {
        stats_.add_stage(Stage::kRead, Clock::now() - t);
        if (error_.has() || stopping_) {
          cut = true;
          return false;
        }
        ImageResult& row = SplitTracker::add_row(st);
        row.timestamp = rec.timestamp;
        stats_.bytes.fetch_add(static_cast<std::int64_t>(rec.bytes.size()), std::memory_order_relaxed);
        const bool key_fits = static_cast<std::int64_t>(rec.key.size()) <= max_key_bytes_;
        if (key_fits) row.key = std::move(rec.key);
        if (!key_fits) {
          row.status = key_too_long(rec.key, max_key_bytes_);
          stats_.count(row.status.code);
        } else if (!rec.status.is_ok()) {
          row.status = std::move(rec.status);
          stats_.count(row.status.code);
        } else {
          SplitTracker::hand_on(st);
          if (!out_.push(DecodeItem{&row, st, std::move(rec.bytes)})) {
            tracker_.row_done(st);  // never decoded: the run is ending
            cut = true;
            return false;
          }
        }
        t = Clock::now();
        return true;
      });
      tracker_.end(st, !cut);
    }
  } catch (...) {
    error_.capture();
  }
  if (--left_ == 0) out_.close();
}

}  // namespace pm::pipeline
