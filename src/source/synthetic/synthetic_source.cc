#include "synthetic_source.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "pixelmill/error.h"

namespace pm::source {
namespace {

constexpr std::int64_t kPerSplit = 256;
constexpr int kImages = 47;  // distinct images the records cycle through
constexpr int kSide = 96;

class SyntheticSource final : public Source {
 public:
  explicit SyntheticSource(std::int64_t count) : count_(count) {
    for (int i = 0; i < kImages; ++i) {
      cv::Mat img(kSide, kSide, CV_8UC3);
      for (int y = 0; y < kSide; ++y)
        for (int x = 0; x < kSide; ++x)
          img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * (i + 1)) & 255),
                                              static_cast<uchar>((y * (i + 3)) & 255),
                                              static_cast<uchar>(((x + y) * (i + 7)) & 255));
      std::vector<uchar> jpeg;
      PM_CHECK(cv::imencode(".jpg", img, jpeg), "synthetic: JPEG encoding failed");
      images_.emplace_back(jpeg.begin(), jpeg.end());
    }
  }

  std::vector<SplitSpec> plan() override {
    std::vector<SplitSpec> splits;
    for (std::int64_t first = 0; first < count_; first += kPerSplit) {
      SplitSpec s;
      s.index = splits.size();
      s.start = key(first);
      s.stop = key(std::min(count_, first + kPerSplit));
      s.estimated_records = std::min(kPerSplit, count_ - first);
      splits.push_back(std::move(s));
    }
    return splits;
  }

  void read_split(const SplitSpec& split, const std::function<bool(Record&&)>& emit) override {
    const auto first = static_cast<std::int64_t>(split.index) * kPerSplit;
    const std::int64_t end = std::min(count_, first + kPerSplit);
    for (std::int64_t i = first; i < end; ++i) {
      Record r;
      r.key = key(i);
      r.bytes = images_[static_cast<std::size_t>(i % kImages)];
      r.timestamp = 1700000000000 + i;
      if (!emit(std::move(r))) return;
    }
  }

  std::int64_t total_hint() const override { return count_; }
  std::string describe() const override { return "synthetic:" + std::to_string(count_) + " (generated images)"; }

 private:
  static std::string key(std::int64_t i) {
    char k[32];
    std::snprintf(k, sizeof k, "synthetic/%012lld", static_cast<long long>(i));
    return k;
  }

  std::int64_t count_;
  std::vector<std::string> images_;
};

}  // namespace

std::unique_ptr<Source> make_synthetic_source(const std::string& spec) {
  const bool digits = !spec.empty() && spec.size() <= 11 && spec.find_first_not_of("0123456789") == std::string::npos;
  const long long n = digits ? std::stoll(spec) : 0;
  if (!digits || n < 1 || n > 10'000'000'000LL)
    throw Error("input synthetic:" + spec + ": expected synthetic:N with N a record count in 1..10^10");
  return std::make_unique<SyntheticSource>(n);
}

}  // namespace pm::source
