// Hashes of images: SHA-256 of the raw bytes (exact duplicates, model pinning) and a
// 64-bit DCT perceptual hash of the decoded pixels (near duplicates, cheap to compare).
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "pixelmill/image_result.h"  // pm::ContentHash

namespace pm {

// Incremental SHA-256 (FIPS 180-4), for data that arrives in pieces (files, streams).
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  ContentHash finish();  // the object must not be updated afterwards

 private:
  std::uint32_t h_[8];
  std::uint8_t buf_[64];
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

ContentHash sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
std::string to_hex(const ContentHash& h);  // 64 lower-case hex digits
// Throws pm::Error when the file cannot be read.
std::string sha256_file(const std::string& path);

// 64-bit pHash: grayscale, INTER_AREA resize to 32x32, 2-D DCT-II (orthonormal), the 8x8
// lowest-frequency block; bit (8*v + u) is set when coefficient (v, u) is greater than the
// median of the 64 (mean of the two middle values). `rgb` is CV_8UC3 in RGB order (CV_8UC1
// grey is accepted too). Returns 0 for an empty image.
std::uint64_t perceptual_hash(const cv::Mat& rgb);

int hamming(std::uint64_t a, std::uint64_t b);

}  // namespace pm
