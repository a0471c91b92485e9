#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

// Reads every record of a source, in plan order.
std::vector<Record> read_all(Source& src) {
  std::vector<Record> got;
  for (const auto& s : src.plan())
    src.read_split(s, [&](Record&& r) { got.push_back(std::move(r)); return true; });
  return got;
}

std::vector<std::string> keys_of(const std::vector<Record>& rs) {
  std::vector<std::string> k;
  for (const auto& r : rs) k.push_back(r.key);
  return k;
}

// A FIFO, /dev/zero or a directory named in a list is a read error at once (no blocked or
// endless read); a file over --max-bytes is too_large without being read.
TEST_F(FileSourceTest, ListEntriesThatAreNotFilesAreReadErrorsAndSizesAreCheckedFirst) {
  const auto fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  {  // 1 GiB, sparse: costs nothing on disk, would cost 1 GiB of memory if read
    std::ofstream big(dir_ / "big.bin", std::ios::binary);
    big.seekp((1LL << 30) - 1);
    big.put('x');
  }
  const auto list = dir_ / "list.txt";
  std::ofstream(list) << fifo.string() << "\n/dev/zero\n" << (dir_ / "b").string() << "\n"
                      << (dir_ / "big.bin").string() << "\n" << (dir_ / "z.jpg").string() << "\n";
  SourceOptions o;
  o.max_record_bytes = 1000;
  auto src = open_source("list:" + list.string(), o);
  const auto got = read_all(*src);
  ASSERT_EQ(got.size(), 5u);
  std::map<std::string, const Record*> by;
  for (const auto& r : got) by[r.key] = &r;
  for (const std::string& k : {fifo.string(), std::string("/dev/zero"), (dir_ / "b").string()}) {
    EXPECT_EQ(by[k]->status.code, StatusCode::kReadError) << k;
    EXPECT_TRUE(by[k]->bytes.empty()) << k;
  }
  EXPECT_NE(by[fifo.string()]->status.message.find("FIFO"), std::string::npos) << by[fifo.string()]->status.message;
  EXPECT_NE(by[(dir_ / "b").string()]->status.message.find("directory"), std::string::npos);
  const Record& big = *by[(dir_ / "big.bin").string()];
  EXPECT_EQ(big.status.code, StatusCode::kTooLarge);
  EXPECT_TRUE(big.bytes.empty());
  EXPECT_NE(big.status.message.find("1073741824 bytes"), std::string::npos) << big.status.message;
  EXPECT_EQ(by[(dir_ / "z.jpg").string()]->bytes, "zz");
  EXPECT_TRUE(by[(dir_ / "z.jpg").string()]->status.is_ok());
}

// Two `ln -s .` loops end the walk instead of growing it; a link to a file outside the root
// keeps the link's own path as its key; a dangling link is a row, read as an error.
TEST_F(FileSourceTest, DirWalkEndsOnLinkLoopsAndKeysStayUnderTheRoot) {
  const fs::path outside = fs::temp_directory_path() / ("pm_outside_" + std::to_string(::getpid()) + ".jpg");
  std::ofstream(outside, std::ios::binary) << "outside";
  fs::create_directory_symlink(".", dir_ / "loop1");
  fs::create_directory_symlink("..", dir_ / "b" / "up");
  fs::create_symlink(outside, dir_ / "b" / "ext.jpg");
  fs::create_symlink(dir_ / "nothing-here", dir_ / "dangling.jpg");
  auto src = open_source("dir:" + dir_.string(), {});
  const auto got = read_all(*src);
  fs::remove(outside);
  EXPECT_EQ(keys_of(got), (std::vector<std::string>{"a.jpg", "b/c/d.png", "b/e.txt", "b/ext.jpg",
                                                    "dangling.jpg", "z.jpg"}));
  for (const auto& r : got) {
    EXPECT_EQ(r.key.find(".."), std::string::npos) << r.key;
    if (r.key == "b/ext.jpg") {
      EXPECT_EQ(r.bytes, "outside");
    }
    if (r.key == "dangling.jpg") {
      EXPECT_EQ(r.status.code, StatusCode::kReadError);
    }
  }
}

// A directory that cannot be listed is a row with a read error, not silently skipped. Root
// reads every directory, so as root the walk runs in a child that has dropped to nobody.
TEST_F(FileSourceTest, DirWalkReportsADirectoryItCannotList) {
  fs::create_directories(dir_ / "locked");
  std::ofstream(dir_ / "locked" / "hidden.jpg") << "h";
  fs::permissions(dir_ / "locked", fs::perms::none);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  for (const auto& d : {dir_ / "b", dir_ / "b" / "c"})
    fs::permissions(d, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  const auto walk = [&]() -> std::string {  // "key:status" of every record, one a line
    std::string out;
    for (const auto& r : read_all(*open_source("dir:" + dir_.string(), {})))
      out += r.key + ":" + std::to_string(static_cast<int>(r.status.code)) + "\n";
    return out;
  };
  std::string seen;
  if (::geteuid() != 0) {
    seen = walk();
  } else {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
      std::string out;
      try {
        out = walk();
      } catch (const std::exception& e) {
        out = std::string("error: ") + e.what();
      }
      const ssize_t n = ::write(fds[1], out.data(), out.size());
      ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 3);
    }
    ::close(fds[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) seen.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  fs::permissions(dir_ / "locked", fs::perms::owner_all);
  EXPECT_NE(seen.find("locked:" + std::to_string(static_cast<int>(StatusCode::kReadError))),
            std::string::npos) << seen;
  EXPECT_EQ(seen.find("hidden.jpg"), std::string::npos) << seen;
  EXPECT_NE(seen.find("z.jpg:0"), std::string::npos) << seen;
}

TEST(SyntheticSource, PlansAndReadsEveryRecordOnce) {
  auto src = open_source("synthetic:600", {});
  const auto splits = src->plan();
  ASSERT_EQ(splits.size(), 3u);  // 256 + 256 + 88
  EXPECT_EQ(src->total_hint(), 600);
  std::vector<std::string> keys;
  for (const auto& s : splits)
    src->read_split(s, [&](Record&& r) {
      EXPECT_TRUE(r.status.is_ok());
      EXPECT_EQ(r.bytes.substr(0, 2), "\xFF\xD8");  // a JPEG
      keys.push_back(r.key);
      return true;
    });
  ASSERT_EQ(keys.size(), 600u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(keys.front(), "synthetic/000000000000");
  EXPECT_EQ(keys.back(), "synthetic/000000000599");
  for (const std::string& bad : {std::string(), std::string("0"), std::string("-5"), std::string("12x"), std::string("100000000000")})
    EXPECT_THROW(open_source("synthetic:" + bad, {}), Error) << bad;
}

TEST(OpenSource, BadSpecsAreClearErrors) {
  EXPECT_THROW(open_source("ftp://x", {}), Error);
  EXPECT_THROW(open_source("dir:/no/such/dir", {})->plan(), Error);
  EXPECT_THROW(open_source("list:/no/such/list", {})->plan(), Error);
}

}  // namespace pm
