// The direct JPEG decoder (libjpeg with a longjmp on errors): any bytes, any reduction.
// The first byte picks the reduction; the pixel limit keeps each input's memory bounded.
#include <cstdint>

#include "fuzz_target.h"
#include "jpeg_rgb.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr int kReductions[] = {1, 2, 4, 8};
  const int reduction = kReductions[data[0] & 3];
  using Outcome = pm::image::JpegRgb::Outcome;
  const pm::image::JpegRgb r = pm::image::decode_jpeg_rgb(pm::fuzz::bytes(data + 1, size - 1), reduction,
                                                          std::int64_t{1} << 24);
  if (r.outcome == Outcome::kDecoded) {
    if (r.rgb.empty() || r.rgb.type() != CV_8UC3) __builtin_trap();
  } else {
    if (!r.rgb.empty()) __builtin_trap();
    if (r.outcome != Outcome::kNotHandled && r.error.empty()) __builtin_trap();
  }
  return 0;
}
