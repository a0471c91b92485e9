// Where records come from. A Source plans its input as an ordered list of splits
// (contiguous, key-ordered parts of the input), then reads any split on request.
// Rank 0 plans; the plan is broadcast so every rank sees the same splits; ranks claim
// splits dynamically (pm::SharedCounter). Reading is independent of compute: the
// pipeline runs several reader threads per rank, each with its own split.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pixelmill/record.h"

namespace pm {

struct SplitSpec {
  std::uint64_t index = 0;         // position in the plan; output rows are ordered by it
  std::string start;               // first key (inclusive); binary-safe; "" = unbounded
  std::string stop;                // end key (exclusive); "" = unbounded
  std::vector<std::string> items;  // for file sources: the paths of this split, in key order
  std::int64_t estimated_records = -1;  // for progress; -1 if unknown
};

// Serialisation for broadcasting a plan (binary-safe).
std::string encode_splits(const std::vector<SplitSpec>& splits);
std::vector<SplitSpec> decode_splits(const std::string& bytes);

// Failures that a source reading over the network (HBase) recovered from, for the
// progress line and the summary. A local source has none: remote = false, and reports
// show nothing for it.
struct ConnectionCounters {
  bool remote = false;
  std::int64_t retries = 0;     // failed calls tried again after a backoff
  std::int64_t reconnects = 0;  // connections made again after a failure
  ConnectionCounters& operator+=(const ConnectionCounters& o) {
    remote = remote || o.remote;
    retries += o.retries;
    reconnects += o.reconnects;
    return *this;
  }
};

class Source {
 public:
  virtual ~Source() = default;
  // Plans the splits; called on rank 0 only. Throws pm::Error on configuration errors
  // (missing table or column, unreadable directory).
  virtual std::vector<SplitSpec> plan() = 0;
  // Reads one split and calls `emit` for each record, in key order. A record that
  // cannot be read is emitted with a non-ok status. Returns early when `emit` returns
  // false. Must be safe to call from several threads at once, each with its own split.
  // Transient failures are retried inside; a split that cannot be read at all throws.
  virtual void read_split(const SplitSpec& split,
                          const std::function<bool(Record&&)>& emit) = 0;
  // Total records when cheaply known (files), -1 otherwise.
  virtual std::int64_t total_hint() const { return -1; }
  virtual std::string describe() const = 0;  // e.g. "dir:/data/photos (1234 files)"
  // Totals so far, over plan() and every read_split(); safe to call while they run.
  virtual ConnectionCounters connection_counters() const { return {}; }
};

}  // namespace pm
