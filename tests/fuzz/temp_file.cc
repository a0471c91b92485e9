#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "fuzz_target.h"

namespace pm::fuzz {

TempFile::TempFile(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string dir = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = dir + "/pm-fuzz-XXXXXX" + suffix;
  const int fd = ::mkstemps(tmpl.data(), static_cast<int>(std::string(suffix).size()));
  if (fd < 0) throw std::runtime_error("mkstemps failed");
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  path_ = tmpl;
}

TempFile::~TempFile() { std::remove(path_.c_str()); }

}  // namespace pm::fuzz
