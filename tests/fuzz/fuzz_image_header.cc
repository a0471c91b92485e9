// The image header parser: format sniffing, sizes, EXIF orientation, JPEG completeness.
#include "fuzz_target.h"
#include "image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view b = pm::fuzz::bytes(data, size);
  const pm::image::HeaderInfo h = pm::image::read_header(b);
  // What decode relies on: a header of a decodable format that raised no error has a
  // positive size and an orientation in 1..8.
  if (h.error.empty() && h.unsupported.empty() && pm::image::is_decodable(h.format)) {
    if (h.width <= 0 || h.height <= 0) __builtin_trap();
    if (h.orientation < 1 || h.orientation > 8) __builtin_trap();
  }
  (void)pm::image::jpeg_is_complete(b);
  return 0;
}
