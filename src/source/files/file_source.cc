#include "file_source.h"

#include "bounded_read.h"
#include "dir_walk.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "pixelmill/error.h"

namespace pm::source {
namespace fs = std::filesystem;

namespace {

class FileSource final : public Source {
 public:
  FileSource(FileSpecKind kind, std::string path, std::int64_t split_records, int ranks,
             std::int64_t max_bytes)
      : kind_(kind), path_(std::move(path)), split_records_(split_records), ranks_(ranks),
        max_bytes_(max_bytes) {}

  std::vector<SplitSpec> plan() override {
    std::vector<std::string> keys = kind_ == FileSpecKind::kDir ? walk_dir(path_) : read_list();
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    total_ = static_cast<std::int64_t>(keys.size());
    // Small splits balance well under dynamic claiming; large ones cost fewer claims.
    std::int64_t per = split_records_;
    if (per <= 0) per = std::clamp<std::int64_t>(total_ / (std::max(1, ranks_) * 8), 4, 256);
    std::vector<SplitSpec> splits;
    for (std::int64_t i = 0; i < total_; i += per) {
      SplitSpec s;
      s.index = splits.size();
      auto end = std::min<std::int64_t>(total_, i + per);
      s.items.assign(keys.begin() + i, keys.begin() + end);
      s.start = s.items.front();
      s.stop = s.items.back();
      s.estimated_records = end - i;
      splits.push_back(std::move(s));
    }
    return splits;
  }

  void read_split(const SplitSpec& split, const std::function<bool(Record&&)>& emit) override {
    for (const auto& key : split.items) {
      Record r;
      r.key = key;
      const fs::path p = kind_ == FileSpecKind::kDir ? fs::path(path_) / key : fs::path(key);
      FileRead f = read_file_bounded(p.string(), max_bytes_);
      r.status = std::move(f.status);
      r.bytes = std::move(f.bytes);
      r.timestamp = f.mtime_ms;
      if (!emit(std::move(r))) return;
    }
  }

  std::int64_t total_hint() const override { return total_; }

  std::string describe() const override {
    return std::string(kind_ == FileSpecKind::kDir ? "dir:" : "list:") + path_ + " (" +
           std::to_string(total_) + " files)";
  }

 private:
  std::vector<std::string> read_list() const {
    std::ifstream in(path_);
    if (!in) throw Error("input list:" + path_ + " cannot be read");
    std::vector<std::string> keys;
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      keys.push_back(line);
    }
    return keys;
  }

  FileSpecKind kind_;
  std::string path_;
  std::int64_t split_records_;
  int ranks_;
  std::int64_t max_bytes_;  // records larger than this are not read (too_large); 0 = no limit
  std::int64_t total_ = -1;
};

}  // namespace

std::unique_ptr<Source> make_file_source(FileSpecKind kind, const std::string& path,
                                         std::int64_t split_records, int ranks,
                                         std::int64_t max_bytes) {
  return std::make_unique<FileSource>(kind, path, split_records, ranks, max_bytes);
}

}  // namespace pm::source
