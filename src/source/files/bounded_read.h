// Reading one input file without trusting it: the file type and size are checked before a
// byte is read, and the read itself never takes more than the limit, so a 1 GiB file under
// --max-bytes 1000 costs nothing, and a FIFO, /dev/zero or a directory named as an input
// is a read error at once instead of a blocked or endless read.
#pragma once

#include <cstdint>
#include <string>

#include "pixelmill/status.h"

namespace pm::source {

struct FileRead {
  Status status;              // ok, kReadError (cannot open, not a regular file, I/O error)
                              // or kTooLarge (more than max_bytes; nothing read)
  std::string bytes;          // the file's bytes when status is ok
  std::int64_t mtime_ms = 0;  // modification time, ms since the epoch (0 when unknown)
};

// max_bytes <= 0: no limit.
FileRead read_file_bounded(const std::string& path, std::int64_t max_bytes);

}  // namespace pm::source
