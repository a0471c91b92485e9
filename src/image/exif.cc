#include "exif.h"

#include <cstdint>
#include <cstring>

#include <opencv2/core.hpp>

namespace pm::image {

int exif_orientation(std::string_view t) {
  if (t.size() >= 6 && std::memcmp(t.data(), "Exif\0\0", 6) == 0) t.remove_prefix(6);
  if (t.size() < 8) return 1;
  bool le;
  if (t[0] == 'I' && t[1] == 'I')
    le = true;
  else if (t[0] == 'M' && t[1] == 'M')
    le = false;
  else
    return 1;
  auto u8 = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(t[i])); };
  auto u16 = [&](std::size_t i) -> std::uint32_t {
    return le ? (u8(i) | (u8(i + 1) << 8)) : ((u8(i) << 8) | u8(i + 1));
  };
  auto u32 = [&](std::size_t i) -> std::uint32_t {
    return le ? (u16(i) | (u16(i + 2) << 16)) : ((u16(i) << 16) | u16(i + 2));
  };
  if (u16(2) != 42) return 1;
  const std::size_t ifd = u32(4);
  if (ifd + 2 > t.size()) return 1;
  const std::uint32_t n = u16(ifd);
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::size_t e = ifd + 2 + 12 * std::size_t{k};
    if (e + 12 > t.size()) return 1;
    if (u16(e) != 0x0112) continue;
    const std::uint32_t type = u16(e + 2);
    std::uint32_t v;
    if (type == 3)  // SHORT: left-justified in the 4-byte value field
      v = u16(e + 8);
    else if (type == 4)  // LONG (seen in some writers)
      v = u32(e + 8);
    else
      return 1;
    return (v >= 1 && v <= 8) ? static_cast<int>(v) : 1;
  }
  return 1;
}

cv::Mat apply_orientation(const cv::Mat& img, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(img, out, 1); break;
    case 3: cv::flip(img, out, -1); break;
    case 4: cv::flip(img, out, 0); break;
    case 5: cv::transpose(img, out); break;
    case 6: {
      cv::Mat t;
      cv::transpose(img, t);
      cv::flip(t, out, 1);
      break;
    }
    case 7: {
      cv::Mat t;
      cv::transpose(img, t);
      cv::flip(t, out, -1);
      break;
    }
    case 8: {
      cv::Mat t;
      cv::transpose(img, t);
      cv::flip(t, out, 0);
      break;
    }
    default: out = img; break;
  }
  return out;
}

}  // namespace pm::image
