// Per-record outcome codes. A record that fails gets one of these and a message;
// it is counted and written to the output, and the job goes on. Setup errors throw
// pm::Error instead (see error.h). The numeric values are stored in output files:
// never renumber, only append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pm {

enum class StatusCode : std::uint8_t {
  kOk = 0,
  kEmpty = 1,          // zero-byte input, or a missing/empty cell
  kCorrupt = 2,        // the decoder could not read it (truncated, garbage)
  kUnsupported = 3,    // a format or pixel type pixelmill does not handle
  kTooLarge = 4,       // header claims more pixels than --max-pixels, or bytes over --max-bytes
  kReadError = 5,      // the file or cell could not be read
  kInferenceError = 6, // the engine failed on this record's batch
  kMissing = 7,        // the record has no value in the requested column
};

inline constexpr int kStatusCodeCount = 8;

std::string_view status_name(StatusCode code);  // "ok", "corrupt", ...

struct Status {
  StatusCode code = StatusCode::kOk;
  std::string message;  // empty when ok

  static Status ok() { return {}; }
  static Status error(StatusCode c, std::string msg) { return {c, std::move(msg)}; }
  bool is_ok() const { return code == StatusCode::kOk; }
};

}  // namespace pm
