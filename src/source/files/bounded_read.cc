#include "bounded_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pm::source {
namespace {

// Owns one file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

}  // namespace

FileRead read_file_bounded(const std::string& path, std::int64_t max_bytes) {
  FileRead r;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    r.status = Status::error(StatusCode::kReadError, "cannot open " + path + ": " + std::strerror(errno));
    return r;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    r.status = Status::error(StatusCode::kReadError, "cannot stat " + path + ": " + std::strerror(errno));
    return r;
  }
  r.mtime_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  if (!S_ISREG(st.st_mode)) {
    r.status = Status::error(StatusCode::kReadError, path + " is " + kind_of(st.st_mode) + ", not a file");
    return r;
  }
  const std::int64_t size = st.st_size;
  if (max_bytes > 0 && size > max_bytes) {
    r.status = Status::error(StatusCode::kTooLarge, std::to_string(size) + " bytes > --max-bytes " +
                                                        std::to_string(max_bytes));
    return r;
  }
  // The file may grow between fstat and read: read at most one byte past the limit.
  const std::int64_t cap = max_bytes > 0 ? max_bytes + 1 : size + 1;
  r.bytes.resize(static_cast<std::size_t>(std::min<std::int64_t>(size + 1, cap)));
  std::size_t got = 0;
  for (;;) {
    if (got == r.bytes.size()) {
      if (max_bytes > 0 && static_cast<std::int64_t>(got) > max_bytes) break;
      r.bytes.resize(r.bytes.size() + 65536);  // grew while we read (no limit given)
    }
    const ssize_t n = ::read(fd.get(), r.bytes.data() + got, r.bytes.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.status = Status::error(StatusCode::kReadError, "read failed: " + path + ": " + std::strerror(errno));
      r.bytes.clear();
      return r;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  r.bytes.resize(got);
  if (max_bytes > 0 && static_cast<std::int64_t>(got) > max_bytes) {
    r.status = Status::error(StatusCode::kTooLarge, "more than --max-bytes " + std::to_string(max_bytes) +
                                                        " bytes (the file grew while read)");
    r.bytes.clear();
  }
  return r;
}

}  // namespace pm::source
