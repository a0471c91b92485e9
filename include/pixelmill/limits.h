// Upper bounds of the flags that size a rank's threads and buffers. They are far above
// any sensible value and exist to turn a typo (--decode-threads 100000) into a clear
// message at start instead of a failure deep inside the run (a thread the system cannot
// create, an allocation that cannot succeed). Documented in each command's --help.
#pragma once

#include <cstdint>

namespace pm {

constexpr int kMaxThreadsPerRank = 4096;  // --threads, --decode-threads (any command)
constexpr int kMaxBatch = 4096;           // images per inference batch
constexpr int kMaxScanners = 256;         // split readers in flight per rank
constexpr std::int64_t kMaxBlockRows = std::int64_t{1} << 20;  // dedup --block-rows
// Lists of the IVF join (dedup --lists).
constexpr int kMaxLists = 1 << 20;

}  // namespace pm
