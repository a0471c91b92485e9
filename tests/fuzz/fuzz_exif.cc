// The EXIF (TIFF-structured) orientation reader.
#include "exif.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int o = pm::image::exif_orientation(pm::fuzz::bytes(data, size));
  if (o < 1 || o > 8) __builtin_trap();  // 1 (upright) when absent or malformed
  return 0;
}
