// Decoding one encoded image into 8-bit RGB, safely: every failure is a pm::Status, never
// an exception, and the pixel count is checked from the file header before any decode
// (decompression bombs). Thread-safe; call from any number of decode threads.
//
// Statuses: 0 bytes -> kEmpty; more than max_bytes or more than max_pixels -> kTooLarge;
// bytes that match no image signature (garbage, text) or a broken/truncated file ->
// kCorrupt; a recognised format that OpenCV cannot decode here (GIF, HEIF/AVIF, JPEG XL,
// PSD, ...) -> kUnsupported.
// A JPEG without its EOI marker (truncated mid-scan) is kCorrupt: libjpeg would fill the
// missing part with grey, giving a half-grey image whose embedding and hash look like
// other half-grey images (false duplicates); we prefer to report it.
// Alpha is composited on white (product photos on transparent background are meant to be
// seen on a light page), grey becomes 3 equal channels, 16-bit is scaled to 8-bit, CMYK
// JPEGs are converted by libjpeg/OpenCV.
#pragma once

#include <cstdint>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "pixelmill/status.h"

namespace pm {

struct DecodeOptions {
  // Network input size. When > 0 a JPEG at least 2x (4x, 8x) as large in both dimensions
  // is decoded at 1/2 (1/4, 1/8) size in the DCT domain: much faster, and still at least
  // as large as the input, so the resize that follows loses nothing.
  int target_width = 0;
  int target_height = 0;
  // Largest width*height accepted (from the header, before decoding). 100 Mpx take
  // 300 MB as RGB; larger is more likely a bomb than a product photo.
  std::int64_t max_pixels = 100'000'000;
  // Largest encoded size accepted; 0 = no limit.
  std::int64_t max_bytes = 256LL << 20;
  bool reduced_decode = true;
};

struct DecodedImage {
  cv::Mat rgb;         // CV_8UC3, RGB order, EXIF orientation applied; empty unless ok
  int width = 0;       // full size after orientation, not the reduced one (0 if unknown)
  int height = 0;
  int reduction = 1;   // 1, 2, 4 or 8: rgb is about width/reduction x height/reduction
  Status status;
};

DecodedImage decode_image(std::string_view bytes, const DecodeOptions& options);

}  // namespace pm
