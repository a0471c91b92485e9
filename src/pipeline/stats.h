// Per-rank counters that the stages update concurrently (relaxed atomics: they are
// only read for reporting) and the snapshot that is published to rank 0.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "pixelmill/source.h"
#include "pixelmill/status.h"

namespace pm::pipeline {

enum class Stage : int { kRead = 0, kDecode, kInfer, kWrite, kCount };
inline constexpr int kStageCount = static_cast<int>(Stage::kCount);
const char* stage_name(Stage s);

struct RankStats {
  std::atomic<std::int64_t> records{0};   // records finished (any status)
  std::atomic<std::int64_t> bytes{0};     // encoded bytes read
  std::array<std::atomic<std::int64_t>, kStatusCodeCount> by_status{};
  std::array<std::atomic<std::int64_t>, kStageCount> stage_ns{};  // thread-time per stage
  // The input's (and HBase write-back's) connection counters, copied in by the main thread
  // before each publish: the source keeps the totals.
  std::atomic<bool> remote{false};
  std::atomic<std::int64_t> retries{0};
  std::atomic<std::int64_t> reconnects{0};

  void set_connection(const ConnectionCounters& c) {
    remote.store(c.remote, std::memory_order_relaxed);
    retries.store(c.retries, std::memory_order_relaxed);
    reconnects.store(c.reconnects, std::memory_order_relaxed);
  }

  void add_stage(Stage s, std::chrono::steady_clock::duration d) {
    stage_ns[static_cast<int>(s)].fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(), std::memory_order_relaxed);
  }
  void count(StatusCode c) {
    by_status[static_cast<int>(c)].fetch_add(1, std::memory_order_relaxed);
    records.fetch_add(1, std::memory_order_relaxed);
  }
};

// Flat snapshot (what travels between ranks): records, bytes, status counts, stage
// seconds, then the connection counters (remote as 0/1: summed over ranks, > 0 means some
// rank reads or writes over the network).
struct StatsSnapshot {
  static constexpr int kConnection = 2 + kStatusCodeCount + kStageCount;
  static constexpr int kFields = kConnection + 3;
  std::array<double, kFields> v{};

  double records() const { return v[0]; }
  double bytes() const { return v[1]; }
  double status(int c) const { return v[2 + c]; }
  double stage_seconds(int s) const { return v[2 + kStatusCodeCount + s]; }
  double errors() const { return records() - status(0); }
  bool remote() const { return v[kConnection] > 0; }
  double retries() const { return v[kConnection + 1]; }
  double reconnects() const { return v[kConnection + 2]; }

  static StatsSnapshot of(const RankStats& s);
  StatsSnapshot& operator+=(const StatsSnapshot& o) {
    for (int i = 0; i < kFields; ++i) v[i] += o.v[i];
    return *this;
  }
};

// Times a scope into one stage.
class StageTimer {
 public:
  StageTimer(RankStats& stats, Stage stage)
      : stats_(stats), stage_(stage), start_(std::chrono::steady_clock::now()) {}
  ~StageTimer() { stats_.add_stage(stage_, std::chrono::steady_clock::now() - start_); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  RankStats& stats_;
  Stage stage_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace pm::pipeline
