#include "pixelmill/process_memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pm {

std::int64_t process_status_bytes(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  std::int64_t kb = -1;
  const std::size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') kb = std::atoll(line + len + 1);
  std::fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

}  // namespace pm
