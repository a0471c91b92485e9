// Checks scripts/make-demo-data.sh output: every file decodes, the manifest is complete,
// exact copies share the content hash, and variants stay perceptually close to their
// original while originals stay apart (so the demo shows the duplicate groups it claims).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "pixelmill/decode.h"
#include "pixelmill/hashes.h"
#include "test_util.h"

namespace pm {
namespace {

struct Entry {
  std::string file, origin, transform;
};

TEST(DemoData, ManifestFilesDecodeAndVariantsAreNearTheirOriginal) {
  const std::string dir = PM_DEMO_DIR;
  std::ifstream in(dir + "/MANIFEST.tsv");
  ASSERT_TRUE(in.good()) << "run scripts/make-demo-data.sh " << dir;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "file\torigin\ttransform");
  std::vector<Entry> entries;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    Entry e;
    std::getline(ss, e.file, '\t');
    std::getline(ss, e.origin, '\t');
    std::getline(ss, e.transform, '\t');
    entries.push_back(e);
  }
  std::map<std::string, std::uint64_t> phash;
  std::map<std::string, std::string> sha;
  int originals = 0, variants = 0, copies = 0;
  for (const auto& e : entries) {
    const std::string bytes = test::read_file(dir + "/" + e.file);
    const DecodedImage d = decode_image(bytes, DecodeOptions{288, 288});
    ASSERT_TRUE(d.status.is_ok()) << e.file << ": " << d.status.message;
    phash[e.file] = perceptual_hash(d.rgb);
    sha[e.file] = sha256_hex(bytes);
    if (e.transform == "original") {
      ++originals;
      EXPECT_TRUE(std::filesystem::exists(e.origin)) << e.origin;
      continue;
    }
    ++variants;
    ASSERT_TRUE(phash.count(e.origin)) << e.file << " before its origin " << e.origin;
    EXPECT_LE(hamming(phash[e.file], phash[e.origin]), 12) << e.file;
    if (e.transform == "exact_copy") {
      ++copies;
      EXPECT_EQ(sha[e.file], sha[e.origin]) << e.file;
    } else {
      EXPECT_NE(sha[e.file], sha[e.origin]) << e.file;
    }
  }
  EXPECT_GE(originals, 40);
  EXPECT_LE(originals, 60);
  EXPECT_GE(variants, originals / 3);
  EXPECT_GE(copies, 1);
  // Originals are distinct pictures: no two closer than the variants are to theirs.
  for (const auto& a : entries)
    for (const auto& b : entries)
      if (a.transform == "original" && b.transform == "original" && a.file < b.file) {
        EXPECT_GT(hamming(phash[a.file], phash[b.file]), 12) << a.file << " vs " << b.file;
      }
  // The directory holds exactly the manifest's files.
  std::size_t on_disk = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir))
    on_disk += f.is_regular_file() && f.path().filename() != "MANIFEST.tsv";
  EXPECT_EQ(on_disk, entries.size());
}

}  // namespace
}  // namespace pm
