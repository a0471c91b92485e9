// One row of the output: what extract learned about one input record. Every input
// record produces exactly one ImageResult, failed or not.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pixelmill/status.h"

namespace pm {

using ContentHash = std::array<std::uint8_t, 32>;  // SHA-256 of the raw bytes

// One object a detector found in the image (extract --detector).
struct ObjectResult {
  std::array<float, 4> box{};    // x0, y0, x1, y1 in full-size (EXIF-oriented) image pixels
  float score = 0.f;
  std::int32_t cls = 0;          // index into the detector card's classes
  std::vector<float> embedding;  // the crop's embedding when crops are embedded, else empty
};

struct ImageResult {
  std::string key;               // binary-safe record key
  Status status;                 // ok, or why this record has no embedding
  std::vector<float> embedding;  // model-card dimension when ok; empty otherwise
  ContentHash content_hash{};    // of the raw bytes (zero when the bytes were unreadable)
  std::uint64_t phash = 0;       // 64-bit DCT perceptual hash of the decoded image (0 when not ok)
  std::int32_t width = 0;        // decoded size before preprocessing, after EXIF orientation
  std::int32_t height = 0;
  std::int64_t timestamp = 0;    // source timestamp (ms since epoch)
  std::vector<ObjectResult> objects;  // extract --detector: best first; empty otherwise
};

// Results of one split (a contiguous part of the key-ordered input), in key order.
// Output rows are laid out by split index, so the file does not depend on which
// rank processed which split.
struct SplitResults {
  std::uint64_t split_index = 0;
  std::vector<ImageResult> rows;
};

}  // namespace pm
