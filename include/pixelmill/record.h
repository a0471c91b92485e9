// What a source yields: one image's raw bytes under a key. Keys are arbitrary bytes
// (HBase row keys may hold 0x00 and 0xFF); for files, the path relative to the input root.
#pragma once

#include <cstdint>
#include <string>

#include "pixelmill/status.h"

namespace pm {

struct Record {
  std::string key;          // binary-safe
  std::string bytes;        // the encoded image
  std::int64_t timestamp = 0;  // cell timestamp (ms since epoch) or file mtime
  Status status;            // not ok when the source could not read the value
};

}  // namespace pm
