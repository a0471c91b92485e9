#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "sha256_compress.h"

namespace pm {
namespace {

// FIPS 180-2 appendix B / NIST CSRC example vectors.
TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                       "nopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotForEverySplitAndPaddingBoundary) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += static_cast<char>((i * 131 + 7) & 0xFF);
  // Lengths around the 55/56/64-byte padding boundaries and several blocks.
  for (std::size_t len : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200, 300}) {
    const std::string s = data.substr(0, len);
    const ContentHash one = sha256(s);
    for (std::size_t cut = 0; cut <= len; cut += 7) {
      Sha256 h;
      h.update(s.substr(0, cut));
      h.update(s.substr(cut));
      EXPECT_EQ(h.finish(), one) << "len " << len << " cut " << cut;
    }
  }
}

TEST(Sha256, ShaNiCompressionEqualsPlainReference) {
  if (!image::have_sha_ni()) GTEST_SKIP() << "this CPU has no SHA extensions";
  std::uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
  for (std::size_t blocks : {1, 2, 3, 7, 16}) {
    std::vector<std::uint8_t> data(64 * blocks);
    for (auto& b : data) b = static_cast<std::uint8_t>(next() >> 24);
    std::uint32_t a[8], b[8];
    for (int i = 0; i < 8; ++i) a[i] = b[i] = next();
    image::sha256_compress_plain(a, data.data(), blocks);
    image::sha256_compress_shani(b, data.data(), blocks);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(a[i], b[i]) << "blocks " << blocks << " word " << i;
  }
}

TEST(Sha256, FileMatchesBytesAndMissingFileThrows) {
  const std::string path = ::testing::TempDir() + "pm_sha256_test.bin";
  std::string data(3 << 20, '\0');  // several read buffers
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 2654435761u >> 24);
  {
    std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  EXPECT_EQ(sha256_file(path), sha256_hex(data));
  std::remove(path.c_str());
  EXPECT_THROW(sha256_file(path), Error);
}

}  // namespace
}  // namespace pm
