// Helpers shared by the pm_image tests: reading files and the bad-image corpus.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pm::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct ExpectedRow {
  std::string file;
  std::string status;
  int width = 0;  // 0 when not given
  int height = 0;
};

// The corpus written by tests/data/make_bad_images.py. Under ctest a fixture writes it
// first; when the binary runs alone it is generated here.
inline std::string bad_images_dir() {
  const std::string dir = PM_IMAGE_BAD_DIR;
  if (!std::filesystem::exists(dir + "/EXPECTED.tsv")) {
    const std::string cmd = std::string(PM_SYSTEM_PYTHON) + " " + PM_SOURCE_DIR +
                            "/tests/data/make_bad_images.py " + dir;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  return dir;
}

inline std::vector<ExpectedRow> expected_rows() {
  std::ifstream in(bad_images_dir() + "/EXPECTED.tsv");
  std::vector<ExpectedRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    f.resize(4);
    ExpectedRow r{f[0], f[1], f[2].empty() ? 0 : std::stoi(f[2]), f[3].empty() ? 0 : std::stoi(f[3])};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace pm::test
