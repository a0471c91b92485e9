// Private to pm_image: what the first bytes of an encoded image say, read without
// decoding, so that the pixel limit is enforced before any decoder allocates anything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pm::image {

enum class ImageFormat : std::uint8_t {
  kUnknown,
  // decoded here (OpenCV with a size check from our own header parse)
  kJpeg, kPng, kBmp, kWebp, kTiff, kPnm,
  // recognised but not decoded: no decoder in OpenCV 4.6 (GIF, HEIF/AVIF, JPEG XL, PSD, ICO,
  // SVG), or decoders we keep closed because we do not check their headers ourselves
  // (JPEG 2000, OpenEXR, Radiance HDR) and they are not product-photo formats
  kGif, kHeif, kAvif, kJxl, kPsd, kIco, kSvg, kJpeg2000, kExr, kHdr,
};

std::string_view format_name(ImageFormat f);
bool is_decodable(ImageFormat f);

struct HeaderInfo {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;        // as stored, before EXIF orientation
  int height = 0;
  int orientation = 1;  // EXIF orientation 1..8 (1 when absent or unreadable)
  int channels = 0;     // JPEG components (1 grey, 3 YCbCr, 4 CMYK/YCCK); 0 when not read
  std::string unsupported;  // non-empty for a variant OpenCV cannot decode (lossless
                            // JPEG, animated WebP): the reason
  std::string error;    // non-empty when the header is broken or truncated
};

// Recognises the format from its signature and, for decodable formats, reads the size
// (JPEG SOFn, PNG IHDR, BMP info header, WebP VP8/VP8L/VP8X, TIFF IFD0, PNM header) and the
// EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF). Never throws; bounds-checked.
HeaderInfo read_header(std::string_view bytes);

// True when the JPEG's marker structure reaches EOI: walks the segments and scans the
// entropy-coded data of every scan (0xFF is stuffed as FF 00 there, so the first other
// marker ends the scan). False for a file cut short, e.g. mid-scan.
bool jpeg_is_complete(std::string_view bytes);

}  // namespace pm::image
