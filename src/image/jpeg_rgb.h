// JPEG bytes in memory -> 8-bit RGB, with libjpeg(-turbo) directly.
//
// OpenCV 4.6's JPEG decoder asks libjpeg for RGB and then swaps every pixel to BGR in a
// scalar loop, and decode_image then swaps it back to RGB: two passes over the full
// decoded image that were ~10 % of `extract`'s CPU time on the demo set. This decoder
// makes the same libjpeg calls as OpenCV (memory source, scale 1/reduction, JCS_RGB
// output, the library's default DCT and upsampling) and writes the rows straight into the
// result, so its pixels are OpenCV's pixels converted to RGB, bit for bit; OpenCV's
// decoder is its reference twin in the tests.
//
// Files it leaves to OpenCV (kNotHandled): 4-component (CMYK/YCCK) JPEGs, which OpenCV
// converts with its own CMYK formula, and Motion-JPEG frames without Huffman tables, for
// which OpenCV supplies the standard ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

namespace pm::image {

struct JpegRgb {
  // kTooLarge: the frame header (what libjpeg would decode, whatever another parser
  // read) is over max_pixels; nothing was allocated for it.
  enum class Outcome { kDecoded, kNotHandled, kFailed, kTooLarge };
  Outcome outcome = Outcome::kFailed;
  cv::Mat rgb;        // CV_8UC3, ceil(size / reduction) with kDecoded
  std::string error;  // libjpeg's message with kFailed, the size with kTooLarge
};

// reduction: 1, 2, 4 or 8 (libjpeg's DCT scaling); max_pixels: the largest frame (full
// size, width x height) decoded. Never throws for bad bytes (a libjpeg error is kFailed);
// may throw std::bad_alloc.
JpegRgb decode_jpeg_rgb(std::string_view bytes, int reduction, std::int64_t max_pixels);

}  // namespace pm::image
