#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "pixelmill/dedup_eval.h"
#include "skip_or_fail.h"

namespace pm::eval {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path, std::ios::binary).rdbuf();
  return s.str();
}

TEST(EvalSet, EveryEditOfEverySourceIsWrittenAndLabelled) {
  const auto photos = default_photos();
  if (photos.size() < 3) PM_SKIP_OR_FAIL("Debian photo packages (darknet, opencv-doc) are not installed");
  char tmpl[] = "/tmp/pm_eval_set_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const EvalSet set = build_eval_set(dir, {photos[0], photos[1], photos[2]}, 1, 7);
  EXPECT_EQ(set.sources, 2);
  EXPECT_EQ(set.distractors, 1);
  ASSERT_EQ(set.images.size(), 2 * (1 + transform_names().size()) + 1);
  std::map<int, int> per_label;
  for (const EvalImage& e : set.images) {
    ++per_label[e.label];
    const cv::Mat m = cv::imread(dir + "/" + e.key);
    EXPECT_FALSE(m.empty()) << e.key;
  }
  EXPECT_EQ(per_label[0], 12);
  EXPECT_EQ(per_label[2], 1);
  // "copy" is byte-identical to the original; the edits are not.
  EXPECT_EQ(slurp(dir + "/s000_copy.jpg"), slurp(dir + "/s000_original.jpg"));
  EXPECT_NE(slurp(dir + "/s000_flip.jpg"), slurp(dir + "/s000_original.jpg"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pm::eval
