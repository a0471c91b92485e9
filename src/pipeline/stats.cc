#include "stats.h"

namespace pm::pipeline {

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kRead: return "read";
    case Stage::kDecode: return "decode";
    case Stage::kInfer: return "infer";
    case Stage::kWrite: return "write";
    case Stage::kCount: break;
  }
  return "?";
}

StatsSnapshot StatsSnapshot::of(const RankStats& s) {
  StatsSnapshot out;
  out.v[0] = static_cast<double>(s.records.load(std::memory_order_relaxed));
  out.v[1] = static_cast<double>(s.bytes.load(std::memory_order_relaxed));
  for (int c = 0; c < kStatusCodeCount; ++c)
    out.v[2 + c] = static_cast<double>(s.by_status[c].load(std::memory_order_relaxed));
  for (int st = 0; st < kStageCount; ++st)
    out.v[2 + kStatusCodeCount + st] = s.stage_ns[st].load(std::memory_order_relaxed) * 1e-9;
  out.v[kConnection] = s.remote.load(std::memory_order_relaxed) ? 1 : 0;
  out.v[kConnection + 1] = static_cast<double>(s.retries.load(std::memory_order_relaxed));
  out.v[kConnection + 2] = static_cast<double>(s.reconnects.load(std::memory_order_relaxed));
  out.v[kDecode] = s.decode_active.load(std::memory_order_relaxed);
  out.v[kDecode + 1] = s.decode_fewest.load(std::memory_order_relaxed);
  out.v[kDecode + 2] = s.decode_most.load(std::memory_order_relaxed);
  out.v[kDecode + 3] = s.decode_started.load(std::memory_order_relaxed);
  return out;
}

}  // namespace pm::pipeline
