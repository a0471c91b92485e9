// Header parsing for the pixel limit. Only the few bytes each format needs are read,
// every read is bounds-checked: the input is untrusted.
#include "image_header.h"

#include <cstring>
#include <limits>

#include "exif.h"

namespace pm::image {
namespace {

class Bytes {
 public:
  explicit Bytes(std::string_view b) : b_(b) {}
  std::size_t size() const { return b_.size(); }
  bool has(std::size_t pos, std::size_t n) const { return pos <= b_.size() && n <= b_.size() - pos; }
  std::uint32_t u8(std::size_t i) const { return static_cast<unsigned char>(b_[i]); }
  std::uint32_t be16(std::size_t i) const { return (u8(i) << 8) | u8(i + 1); }
  std::uint32_t le16(std::size_t i) const { return u8(i) | (u8(i + 1) << 8); }
  std::uint32_t be32(std::size_t i) const { return (be16(i) << 16) | be16(i + 2); }
  std::uint32_t le32(std::size_t i) const { return le16(i) | (le16(i + 2) << 16); }
  bool starts(std::size_t pos, const char* s, std::size_t n) const {
    return has(pos, n) && std::memcmp(b_.data() + pos, s, n) == 0;
  }
  std::string_view sub(std::size_t pos, std::size_t n) const { return b_.substr(pos, n); }

 private:
  std::string_view b_;
};

bool is_sof(std::uint32_t m) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

bool set_size(HeaderInfo& h, std::int64_t w, std::int64_t hh, const char* what) {
  if (w <= 0 || hh <= 0 || w > std::numeric_limits<int>::max() ||
      hh > std::numeric_limits<int>::max()) {
    h.error = std::string(what) + ": invalid image size " + std::to_string(w) + "x" +
              std::to_string(hh);
    return false;
  }
  h.width = static_cast<int>(w);
  h.height = static_cast<int>(hh);
  return true;
}

void parse_jpeg(const Bytes& b, HeaderInfo& h) {
  std::size_t pos = 2;
  while (true) {
    // Markers may be preceded by any number of 0xFF fill bytes.
    if (!b.has(pos, 2)) {
      h.error = "JPEG header truncated before the frame header (SOF)";
      return;
    }
    if (b.u8(pos) != 0xFF) {
      h.error = "JPEG marker expected at byte " + std::to_string(pos);
      return;
    }
    while (b.has(pos + 1, 1) && b.u8(pos + 1) == 0xFF) ++pos;
    if (!b.has(pos, 2)) continue;
    const std::uint32_t m = b.u8(pos + 1);
    pos += 2;
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue;  // standalone markers
    if (m == 0xD9 || m == 0xDA) {
      h.error = "JPEG has no frame header (SOF) before its scan data";
      return;
    }
    if (!b.has(pos, 2)) continue;  // reported by the check at the top of the loop
    const std::uint32_t len = b.be16(pos);
    if (len < 2) {
      h.error = "JPEG segment with invalid length";
      return;
    }
    if (m == 0xE1 && b.starts(pos + 2, "Exif\0\0", 6) && b.has(pos, len))
      h.orientation = exif_orientation(b.sub(pos + 2, len - 2));
    if (is_sof(m)) {
      if (!b.has(pos, 8)) {
        h.error = "JPEG frame header truncated";
        return;
      }
      if (m == 0xC3 || m == 0xC7 || m == 0xCB || m == 0xCF)
        h.unsupported = "lossless JPEG (libjpeg cannot decode it)";
      else if (b.u8(pos + 2) != 8)
        h.unsupported = std::to_string(b.u8(pos + 2)) + "-bit JPEG (libjpeg here decodes 8-bit)";
      h.channels = static_cast<int>(b.u8(pos + 7));
      const std::uint32_t height = b.be16(pos + 3), width = b.be16(pos + 5);
      if (height == 0) {  // height defined later by a DNL marker: libjpeg refuses it
        h.error = "JPEG without a height in its frame header (DNL)";
        return;
      }
      set_size(h, width, height, "JPEG");
      return;
    }
    pos += len;
  }
}

void parse_png(const Bytes& b, HeaderInfo& h) {
  if (!b.has(8, 25) || !b.starts(12, "IHDR", 4)) {
    h.error = "PNG header (IHDR) missing or truncated";
    return;
  }
  const std::uint32_t w = b.be32(16), hh = b.be32(20);
  if (w > 0x7FFFFFFFu || hh > 0x7FFFFFFFu) {
    h.error = "PNG size out of range";
    return;
  }
  if (!set_size(h, w, hh, "PNG")) return;
  // eXIf must precede IDAT; walk the chunk headers (not their data) until then.
  std::size_t pos = 8;
  for (int k = 0; k < 64 && b.has(pos, 8); ++k) {
    const std::uint32_t len = b.be32(pos);
    if (b.starts(pos + 4, "IDAT", 4) || len > 0x7FFFFFFFu) break;
    if (b.starts(pos + 4, "eXIf", 4) && b.has(pos + 8, len))
      h.orientation = exif_orientation(b.sub(pos + 8, len));
    pos += 12 + std::size_t{len};
  }
}

void parse_bmp(const Bytes& b, HeaderInfo& h) {
  if (!b.has(14, 4)) {
    h.error = "BMP header truncated";
    return;
  }
  const std::uint32_t dib = b.le32(14);
  if (dib == 12) {
    if (!b.has(18, 4)) {
      h.error = "BMP header truncated";
      return;
    }
    set_size(h, b.le16(18), b.le16(20), "BMP");
    return;
  }
  if (dib < 40 || !b.has(18, 8)) {
    h.error = "BMP info header truncated or unknown";
    return;
  }
  const auto w = static_cast<std::int32_t>(b.le32(18));
  const auto hh = static_cast<std::int32_t>(b.le32(22));  // negative: stored top-down
  set_size(h, w, hh < 0 ? -std::int64_t{hh} : hh, "BMP");
}

void parse_webp(const Bytes& b, HeaderInfo& h) {
  // RIFF <size> WEBP, then chunks: fourcc, LE32 size, data padded to even length.
  if (!b.has(12, 8)) {
    h.error = "WebP header truncated";
    return;
  }
  bool sized = false;
  std::size_t pos = 12;
  for (int k = 0; k < 64 && b.has(pos, 8); ++k) {
    const std::uint32_t len = b.le32(pos + 4);
    const std::size_t d = pos + 8;
    if (b.starts(pos, "VP8X", 4) && !sized) {
      if (!b.has(d, 10)) break;
      if (b.u8(d) & 0x02) h.unsupported = "animated WebP";
      const std::uint32_t w = 1 + (b.u8(d + 4) | (b.u8(d + 5) << 8) | (b.u8(d + 6) << 16));
      const std::uint32_t hh = 1 + (b.u8(d + 7) | (b.u8(d + 8) << 8) | (b.u8(d + 9) << 16));
      if (!set_size(h, w, hh, "WebP")) return;
      sized = true;
    } else if (b.starts(pos, "VP8 ", 4) && !sized) {
      if (!b.has(d, 10) || b.u8(d + 3) != 0x9D || b.u8(d + 4) != 0x01 || b.u8(d + 5) != 0x2A) {
        h.error = "WebP VP8 frame header invalid or truncated";
        return;
      }
      if (!set_size(h, b.le16(d + 6) & 0x3FFF, b.le16(d + 8) & 0x3FFF, "WebP")) return;
      sized = true;
    } else if (b.starts(pos, "VP8L", 4) && !sized) {
      if (!b.has(d, 5) || b.u8(d) != 0x2F) {
        h.error = "WebP lossless header invalid or truncated";
        return;
      }
      const std::uint32_t bits = b.le32(d + 1);
      if (!set_size(h, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, "WebP")) return;
      sized = true;
    } else if (b.starts(pos, "EXIF", 4) && b.has(d, len)) {
      h.orientation = exif_orientation(b.sub(d, len));
    }
    if (len > 0x7FFFFFF0u) break;
    pos = d + len + (len & 1);
  }
  if (!sized) h.error = "WebP without an image header";
}

void parse_tiff(const Bytes& b, HeaderInfo& h) {
  const bool le = b.u8(0) == 'I';
  auto r16 = [&](std::size_t i) { return le ? b.le16(i) : b.be16(i); };
  auto r32 = [&](std::size_t i) { return le ? b.le32(i) : b.be32(i); };
  const std::size_t ifd = r32(4);
  if (!b.has(ifd, 2)) {
    h.error = "TIFF IFD offset out of the file";
    return;
  }
  const std::uint32_t n = r16(ifd);
  std::int64_t w = -1, hh = -1;
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::size_t e = ifd + 2 + 12 * std::size_t{k};
    if (!b.has(e, 12)) break;
    const std::uint32_t tag = r16(e), type = r16(e + 2);
    if (tag != 256 && tag != 257) continue;
    // A size this parser and libtiff could read differently is refused: a repeated tag
    // (libtiff keeps the first), or a type other than SHORT/LONG with count 1. Otherwise
    // a header "1x1" could decode to 8000x8000 past --max-pixels.
    const char* name = tag == 256 ? "ImageWidth" : "ImageLength";
    std::int64_t& slot = tag == 256 ? w : hh;
    if (slot >= 0) {
      h.error = std::string("ambiguous TIFF header: ") + name + " appears twice";
      return;
    }
    if ((type != 3 && type != 4) || r32(e + 4) != 1) {
      h.error = std::string("TIFF ") + name + " of type " + std::to_string(type) + ", count " +
                std::to_string(r32(e + 4)) + " (expected one SHORT or LONG)";
      return;
    }
    slot = type == 3 ? r16(e + 8) : r32(e + 8);
  }
  // The TIFF Orientation tag is not applied: rare in photos, and libtiff's RGBA path
  // (used by OpenCV for some TIFFs) may already apply it.
  if (w < 0 || hh < 0) {
    h.error = "TIFF without ImageWidth/ImageLength";
    return;
  }
  set_size(h, w, hh, "TIFF");
}

void parse_pnm(const Bytes& b, HeaderInfo& h) {
  // P1..P6: magic, then width and height as decimal, separated by whitespace/comments.
  std::size_t pos = 2;
  std::int64_t vals[2] = {0, 0};
  for (auto& v : vals) {
    while (b.has(pos, 1)) {
      const auto c = b.u8(pos);
      if (c == '#') {
        // OpenCV's reader ends a comment at '\n' or '\r': so must this one, or the two
        // read different numbers as the size.
        while (b.has(pos, 1) && b.u8(pos) != '\n' && b.u8(pos) != '\r') ++pos;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos;
      } else {
        break;
      }
    }
    int digits = 0;
    while (b.has(pos, 1) && b.u8(pos) >= '0' && b.u8(pos) <= '9') {
      // More digits than any valid size: refused rather than cut (a cut number would be
      // read on as the next one).
      if (++digits > 10) {
        h.error = "PNM header: a size with more than 10 digits";
        return;
      }
      v = v * 10 + (b.u8(pos) - '0');
      ++pos;
    }
    if (digits == 0) {
      h.error = "PNM header truncated or invalid";
      return;
    }
  }
  set_size(h, vals[0], vals[1], "PNM");
}

ImageFormat sniff(const Bytes& b) {
  if (b.has(0, 3) && b.u8(0) == 0xFF && b.u8(1) == 0xD8 && b.u8(2) == 0xFF) return ImageFormat::kJpeg;
  if (b.starts(0, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::kPng;
  if (b.starts(0, "GIF87a", 6) || b.starts(0, "GIF89a", 6)) return ImageFormat::kGif;
  if (b.starts(0, "BM", 2) && b.has(0, 26)) return ImageFormat::kBmp;
  if (b.starts(0, "RIFF", 4) && b.starts(8, "WEBP", 4)) return ImageFormat::kWebp;
  if ((b.starts(0, "II*\0", 4) || b.starts(0, "MM\0*", 4)) && b.has(0, 8)) return ImageFormat::kTiff;
  if (b.has(0, 3) && b.u8(0) == 'P' && b.u8(1) >= '1' && b.u8(1) <= '6' &&
      (b.u8(2) == ' ' || b.u8(2) == '\n' || b.u8(2) == '\r' || b.u8(2) == '\t' || b.u8(2) == '#'))
    return ImageFormat::kPnm;
  if (b.starts(4, "ftyp", 4)) {
    if (b.starts(8, "avif", 4) || b.starts(8, "avis", 4)) return ImageFormat::kAvif;
    if (b.starts(8, "heic", 4) || b.starts(8, "heix", 4) || b.starts(8, "mif1", 4) ||
        b.starts(8, "msf1", 4) || b.starts(8, "hevc", 4))
      return ImageFormat::kHeif;
  }
  if (b.starts(0, "\xFF\x0A", 2) || b.starts(0, "\0\0\0\x0CJXL \r\n\x87\n", 12)) return ImageFormat::kJxl;
  if (b.starts(0, "8BPS", 4)) return ImageFormat::kPsd;
  if (b.starts(0, "\0\0\1\0", 4) && b.has(0, 6)) return ImageFormat::kIco;
  if (b.starts(0, "\0\0\0\x0CjP  \r\n\x87\n", 12) || b.starts(0, "\xFF\x4F\xFF\x51", 4))
    return ImageFormat::kJpeg2000;
  if (b.starts(0, "\x76\x2F\x31\x01", 4)) return ImageFormat::kExr;
  if (b.starts(0, "#?RADIANCE", 10) || b.starts(0, "#?RGBE", 6)) return ImageFormat::kHdr;
  // SVG: text, possibly after an XML declaration; look for the root element early on.
  const std::string_view head = b.sub(0, 512);
  if (head.find("<svg") != std::string_view::npos) return ImageFormat::kSvg;
  return ImageFormat::kUnknown;
}

}  // namespace

std::string_view format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::kUnknown: return "unknown";
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kWebp: return "WebP";
    case ImageFormat::kTiff: return "TIFF";
    case ImageFormat::kPnm: return "PNM";
    case ImageFormat::kGif: return "GIF";
    case ImageFormat::kHeif: return "HEIF";
    case ImageFormat::kAvif: return "AVIF";
    case ImageFormat::kJxl: return "JPEG XL";
    case ImageFormat::kPsd: return "PSD";
    case ImageFormat::kIco: return "ICO";
    case ImageFormat::kSvg: return "SVG";
    case ImageFormat::kJpeg2000: return "JPEG 2000";
    case ImageFormat::kExr: return "OpenEXR";
    case ImageFormat::kHdr: return "Radiance HDR";
  }
  return "unknown";
}

bool is_decodable(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg:
    case ImageFormat::kPng:
    case ImageFormat::kBmp:
    case ImageFormat::kWebp:
    case ImageFormat::kTiff:
    case ImageFormat::kPnm: return true;
    default: return false;
  }
}

HeaderInfo read_header(std::string_view bytes) {
  const Bytes b(bytes);
  HeaderInfo h;
  h.format = sniff(b);
  switch (h.format) {
    case ImageFormat::kJpeg: parse_jpeg(b, h); break;
    case ImageFormat::kPng: parse_png(b, h); break;
    case ImageFormat::kBmp: parse_bmp(b, h); break;
    case ImageFormat::kWebp: parse_webp(b, h); break;
    case ImageFormat::kTiff: parse_tiff(b, h); break;
    case ImageFormat::kPnm: parse_pnm(b, h); break;
    default: break;
  }
  return h;
}

bool jpeg_is_complete(std::string_view bytes) {
  const Bytes b(bytes);
  if (!b.has(0, 2) || b.u8(0) != 0xFF || b.u8(1) != 0xD8) return false;
  std::size_t pos = 2;
  const std::size_t n = b.size();
  while (pos + 1 < n) {
    if (b.u8(pos) != 0xFF) return false;  // lost sync: not a well-formed file
    while (pos + 1 < n && b.u8(pos + 1) == 0xFF) ++pos;
    if (pos + 1 >= n) return false;
    const std::uint32_t m = b.u8(pos + 1);
    pos += 2;
    if (m == 0xD9) return true;
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue;
    if (!b.has(pos, 2)) return false;
    const std::uint32_t len = b.be16(pos);
    if (len < 2 || !b.has(pos, len)) return false;
    pos += len;
    if (m != 0xDA) continue;
    // Entropy-coded data: runs until a marker other than FF00 (stuffing) and RSTn.
    while (true) {
      const void* ff = std::memchr(bytes.data() + pos, 0xFF, n - pos);
      if (ff == nullptr) return false;
      pos = static_cast<std::size_t>(static_cast<const char*>(ff) - bytes.data());
      if (pos + 1 >= n) return false;
      const std::uint32_t next = b.u8(pos + 1);
      if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
        pos += (next == 0xFF) ? 1 : 2;
        continue;
      }
      break;  // a real marker at pos
    }
  }
  return false;
}

}  // namespace pm::image
