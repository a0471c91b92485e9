// Hashes of images: SHA-256 of the raw bytes (sha256.h, exact duplicates) and a
// 64-bit DCT perceptual hash of the decoded pixels (near duplicates, cheap to compare).
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "pixelmill/image_result.h"  // pm::ContentHash
#include "pixelmill/sha256.h"  // SHA-256 of raw bytes (pm_core)

namespace pm {

// 64-bit pHash: grayscale, INTER_AREA resize to 32x32, 2-D DCT-II (orthonormal), the 8x8
// lowest-frequency block; bit (8*v + u) is set when coefficient (v, u) is greater than the
// median of the 64 (mean of the two middle values). `rgb` is CV_8UC3 in RGB order (CV_8UC1
// grey is accepted too). Returns 0 for an empty image.
std::uint64_t perceptual_hash(const cv::Mat& rgb);

int hamming(std::uint64_t a, std::uint64_t b);

}  // namespace pm
