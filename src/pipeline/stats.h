// Per-rank counters that the stages update concurrently (relaxed atomics: they are
// only read for reporting) and the snapshot that is published to rank 0.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "decode_balancer.h"
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

  // The decode threads decoding at once (decode_balancer.h): now, fewest, most; and
  // how many were started (0 before the stages ran).
  std::atomic<int> decode_active{0}, decode_fewest{0}, decode_most{0}, decode_started{0};

  void set_decode_balance(const DecodeBalance& b) {
    decode_active.store(b.last, std::memory_order_relaxed);
    decode_fewest.store(b.fewest, std::memory_order_relaxed);
    decode_most.store(b.most, std::memory_order_relaxed);
    decode_started.store(b.started, std::memory_order_relaxed);
  }
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
// rank reads or writes over the network), then the decode balance (per rank).
struct StatsSnapshot {
  static constexpr int kConnection = 2 + kStatusCodeCount + kStageCount;
  static constexpr int kDecode = kConnection + 3;  // decode threads: active, fewest, most, started
  static constexpr int kFields = kDecode + 4;
  std::array<double, kFields> v{};

  double records() const { return v[0]; }
  double bytes() const { return v[1]; }
  double status(int c) const { return v[2 + c]; }
  double stage_seconds(int s) const { return v[2 + kStatusCodeCount + s]; }
  double errors() const { return records() - status(0); }
  bool remote() const { return v[kConnection] > 0; }
  double retries() const { return v[kConnection + 1]; }
  double reconnects() const { return v[kConnection + 2]; }
  // Per rank only (a sum over ranks means nothing).
  int decode_active() const { return static_cast<int>(v[kDecode]); }
  int decode_fewest() const { return static_cast<int>(v[kDecode + 1]); }
  int decode_most() const { return static_cast<int>(v[kDecode + 2]); }
  int decode_started() const { return static_cast<int>(v[kDecode + 3]); }

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
