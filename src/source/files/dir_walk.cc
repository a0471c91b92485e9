#include "dir_walk.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "pixelmill/error.h"

namespace pm::source {
namespace fs = std::filesystem;

namespace {

using DirId = std::pair<dev_t, ino_t>;

class Walker {
 public:
  explicit Walker(fs::path root) : root_(std::move(root)) {}

  std::vector<std::string> run() {
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw Error("input dir:" + root_.string() + " is not a readable directory");
    entered_.insert({st.st_dev, st.st_ino});
    std::error_code ec;
    fs::directory_iterator probe(root_, ec);
    if (ec) throw Error("input dir:" + root_.string() + " cannot be listed: " + ec.message());
    walk(fs::path());
    return std::move(keys_);
  }

 private:
  // rel: the directory's path relative to the root ("" for the root), already entered.
  void walk(const fs::path& rel) {
    std::error_code ec;
    std::vector<fs::path> names;
    for (fs::directory_iterator it(root_ / rel, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename());
    if (ec) {
      // Listed only in part, or not at all: the directory itself is the row that says so.
      keys_.push_back(rel.generic_string());
      return;
    }
    std::sort(names.begin(), names.end());  // the first of two links to one directory wins
    for (const auto& name : names) {
      const fs::path child = rel / name;
      struct stat st {};
      // stat follows links: a link to a directory is walked like one; a dangling link or a
      // link loop fails here and becomes a key (its read says why).
      if (::stat((root_ / child).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        keys_.push_back(child.generic_string());
        continue;
      }
      if (!entered_.insert({st.st_dev, st.st_ino}).second) continue;  // walked already
      walk(child);
    }
  }

  fs::path root_;
  std::set<DirId> entered_;
  std::vector<std::string> keys_;
};

}  // namespace

std::vector<std::string> walk_dir(const std::string& root) { return Walker(root).run(); }

}  // namespace pm::source
