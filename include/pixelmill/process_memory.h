// This process's memory as the kernel counts it, for summaries and benchmarks.
#pragma once

#include <cstdint>

namespace pm {

// A field of /proc/self/status in bytes: "VmRSS" (resident now), "VmHWM" (peak resident).
// -1 when it cannot be read.
std::int64_t process_status_bytes(const char* field);

}  // namespace pm
