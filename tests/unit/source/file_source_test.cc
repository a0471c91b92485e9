#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pixelmill/error.h"
#include "pixelmill/sources.h"

namespace pm {
namespace fs = std::filesystem;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pm_file_source_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "b" / "c");
    write("z.jpg", "zz");
    write("a.jpg", "a");
    write("b/c/d.png", "dddd");
    write("b/e.txt", "");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& bytes) {
    std::ofstream(dir_ / rel, std::ios::binary) << bytes;
  }
  fs::path dir_;
};

TEST_F(FileSourceTest, DirWalksRecursivelyInKeyOrderAndSplitsContiguously) {
  SourceOptions o;
  o.split_records = 3;
  auto src = open_source("dir:" + dir_.string(), o);
  auto splits = src->plan();
  EXPECT_EQ(src->total_hint(), 4);
  ASSERT_EQ(splits.size(), 2u);
  EXPECT_EQ(splits[0].items, (std::vector<std::string>{"a.jpg", "b/c/d.png", "b/e.txt"}));
  EXPECT_EQ(splits[1].items, (std::vector<std::string>{"z.jpg"}));
  EXPECT_EQ(splits[1].index, 1u);
  std::vector<Record> got;
  for (const auto& s : splits) src->read_split(s, [&](Record&& r) { got.push_back(std::move(r)); return true; });
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].key, "b/c/d.png");
  EXPECT_EQ(got[1].bytes, "dddd");
  EXPECT_TRUE(got[2].status.is_ok()) << "an empty file is read fine; decode calls it empty";
  EXPECT_EQ(got[2].bytes, "");
  EXPECT_GT(got[0].timestamp, 0);
}

TEST_F(FileSourceTest, ListKeepsListedPathsAndReportsUnreadableOnes) {
  const auto list = dir_ / "list.txt";
  std::ofstream(list) << (dir_ / "z.jpg").string() << "\n# comment\n\n/no/such/file.jpg\r\n";
  auto src = open_source("list:" + list.string(), {});
  auto splits = src->plan();
  std::vector<Record> got;
  for (const auto& s : splits) src->read_split(s, [&](Record&& r) { got.push_back(std::move(r)); return true; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "/no/such/file.jpg");
  EXPECT_EQ(got[0].status.code, StatusCode::kReadError);
  EXPECT_EQ(got[1].bytes, "zz");
}

TEST_F(FileSourceTest, EmitReturningFalseStopsTheSplit) {
  auto src = open_source("dir:" + dir_.string(), {});
  auto splits = src->plan();
  int n = 0;
  src->read_split(splits[0], [&](Record&&) { return ++n < 2; });
  EXPECT_EQ(n, 2);
}

TEST(OpenSource, BadSpecsAreClearErrors) {
  EXPECT_THROW(open_source("ftp://x", {}), Error);
  EXPECT_THROW(open_source("dir:/no/such/dir", {})->plan(), Error);
  EXPECT_THROW(open_source("list:/no/such/list", {})->plan(), Error);
}

}  // namespace pm
