// The report reads images only under its root, and decodes them under extract's limits:
// keys and roots come from run files, which may be hostile.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "report_parts.h"

namespace pm::dedup {
namespace {
namespace fs = std::filesystem;

class ReportPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("pm_report_paths_" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "root" / "sub");
    fs::create_directories(base_ / "outside");
    for (const fs::path& p : {base_ / "root" / "a.jpg", base_ / "root" / "sub" / "b.jpg",
                             base_ / "outside" / "c.jpg"})
      cv::imwrite(p.string(), cv::Mat(40, 60, CV_8UC3, cv::Scalar(20, 120, 220)));
    fs::create_symlink(base_ / "outside" / "c.jpg", base_ / "root" / "link.jpg");
    root_ = (base_ / "root").string();
  }
  void TearDown() override { fs::remove_all(base_); }
  fs::path base_;
  std::string root_;
};

TEST_F(ReportPaths, KeysResolveOnlyInsideTheRoot) {
  EXPECT_EQ(contained_image_path(root_, "a.jpg"), (base_ / "root" / "a.jpg").string());
  EXPECT_EQ(contained_image_path(root_, "sub/b.jpg"), (base_ / "root" / "sub" / "b.jpg").string());
  EXPECT_EQ(contained_image_path(root_, (base_ / "root" / "a.jpg").string()),
            (base_ / "root" / "a.jpg").string());
  for (const std::string& key :
       {std::string("../outside/c.jpg"), std::string("sub/../../outside/c.jpg"),
        (base_ / "outside" / "c.jpg").string(), std::string("/etc/passwd"), std::string("link.jpg"),
        std::string("a.jpg\0../../x", 14), std::string(""), std::string("."), std::string("sub/..")})
    EXPECT_EQ(contained_image_path(root_, key), "") << key;
  // No root (a list: or HBase run without --image-root): nothing is read, whatever the key.
  EXPECT_EQ(contained_image_path("", (base_ / "root" / "a.jpg").string()), "");
}

TEST_F(ReportPaths, ThumbnailsAreDecodedUnderTheLimits) {
  EXPECT_EQ(thumbnail_data_uri((base_ / "root" / "a.jpg").string(), 32).rfind("data:image/jpeg;base64,", 0), 0u);
  // A PNG whose header claims 100000 x 100000 (a bomb) is refused, not decoded.
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), png));
  for (int i = 0; i < 4; ++i) {  // IHDR width at byte 16, height at byte 20, big-endian
    png[16 + i] = static_cast<uchar>((100000u >> (24 - 8 * i)) & 0xFF);
    png[20 + i] = static_cast<uchar>((100000u >> (24 - 8 * i)) & 0xFF);
  }
  const fs::path bomb = base_ / "root" / "bomb.png";
  std::ofstream(bomb, std::ios::binary).write(reinterpret_cast<const char*>(png.data()),
                                              static_cast<std::streamsize>(png.size()));
  EXPECT_EQ(thumbnail_data_uri(bomb.string(), 32), "");
  // Not a regular file: nothing is read.
  EXPECT_EQ(thumbnail_data_uri("/dev/zero", 32), "");
  EXPECT_EQ(thumbnail_data_uri((base_ / "root").string(), 32), "");
}

}  // namespace
}  // namespace pm::dedup
