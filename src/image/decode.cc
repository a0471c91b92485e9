// decode_image: header check, then OpenCV, then normalisation to 8-bit RGB upright.
// We decode with IMREAD_IGNORE_ORIENTATION and apply the EXIF orientation ourselves:
// the orientation is needed before decoding anyway (to pick the DCT reduction against
// the upright size and to report the upright size), and one code path gives the same
// result for full and reduced decodes and for every format we read it from. (OpenCV 4.6
// itself applies JPEG EXIF orientation to IMREAD_REDUCED_* decodes too, checked with a
// Pillow-written orientation-6 file; the tests compare our full-size result with its.)
#include <algorithm>
#include <limits>
#include <new>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "exif.h"
#include "image_header.h"
#include "jpeg_rgb.h"
#include "pixelmill/decode.h"

namespace pm {
namespace {

using image::HeaderInfo;
using image::ImageFormat;

// OpenCV refuses larger images with an exception (CV_IO_MAX_IMAGE_PIXELS default).
constexpr std::int64_t kOpenCvMaxPixels = std::int64_t{1} << 30;

std::string hex_prefix(std::string_view b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size() && i < 8; ++i) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (i) s += ' ';
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

// Largest of 8, 4, 2 such that the image is at least that many times the target in both
// dimensions (upright sizes); 1 otherwise.
int pick_reduction(int w, int h, const DecodeOptions& o) {
  if (!o.reduced_decode || o.target_width <= 0 || o.target_height <= 0) return 1;
  for (int r : {8, 4, 2})
    if (std::int64_t{w} >= std::int64_t{r} * o.target_width &&
        std::int64_t{h} >= std::int64_t{r} * o.target_height)
      return r;
  return 1;
}

// Composites BGRA (or grey+alpha) over white, writing RGB. Rounded integer arithmetic:
// out = (c*a + 255*(255-a)) / 255.
cv::Mat composite_on_white(const cv::Mat& src) {
  cv::Mat out(src.rows, src.cols, CV_8UC3);
  const int cn = src.channels();
  for (int y = 0; y < src.rows; ++y) {
    const std::uint8_t* s = src.ptr<std::uint8_t>(y);
    std::uint8_t* d = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < src.cols; ++x, s += cn, d += 3) {
      const int a = s[cn - 1];
      auto blend = [a](int c) { return static_cast<std::uint8_t>((c * a + 255 * (255 - a) + 127) / 255); };
      if (cn == 2) {
        d[0] = d[1] = d[2] = blend(s[0]);
      } else {  // BGRA -> RGB
        d[0] = blend(s[2]);
        d[1] = blend(s[1]);
        d[2] = blend(s[0]);
      }
    }
  }
  return out;
}

// Any decoded Mat (1-4 channels, 8/16-bit or float, OpenCV's BGR order) -> CV_8UC3 RGB.
Status to_rgb8(const cv::Mat& m, cv::Mat& out) {
  cv::Mat m8;
  switch (m.depth()) {
    case CV_8U: m8 = m; break;
    case CV_16U: m.convertTo(m8, CV_8U, 1.0 / 257.0); break;  // 65535 -> 255 exactly
    case CV_32F: m.convertTo(m8, CV_8U, 255.0); break;        // float images are 0..1
    default:
      return Status::error(StatusCode::kUnsupported,
                           "pixel depth " + std::to_string(m.depth()) + " not supported");
  }
  switch (m8.channels()) {
    case 1: cv::cvtColor(m8, out, cv::COLOR_GRAY2RGB); break;
    case 2:
    case 4: out = composite_on_white(m8); break;
    case 3: cv::cvtColor(m8, out, cv::COLOR_BGR2RGB); break;
    default:
      return Status::error(StatusCode::kUnsupported,
                           std::to_string(m8.channels()) + " channels not supported");
  }
  return Status::ok();
}

void decode_impl(std::string_view bytes, const DecodeOptions& opt, DecodedImage& out) {
  auto fail = [&out](StatusCode c, std::string msg) {
    out.rgb.release();
    out.status = Status::error(c, std::move(msg));
  };
  if (bytes.empty()) return fail(StatusCode::kEmpty, "0 bytes");
  if (opt.max_bytes > 0 && static_cast<std::int64_t>(bytes.size()) > opt.max_bytes)
    return fail(StatusCode::kTooLarge, std::to_string(bytes.size()) + " bytes is over the limit of " +
                                           std::to_string(opt.max_bytes));

  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return fail(StatusCode::kTooLarge, std::to_string(bytes.size()) + " bytes is more than OpenCV can decode");

  const HeaderInfo h = image::read_header(bytes);
  if (h.format == ImageFormat::kUnknown)
    return fail(StatusCode::kCorrupt,
                "not a recognised image format (first bytes " + hex_prefix(bytes) + ")");
  const std::string fmt(image::format_name(h.format));
  if (!image::is_decodable(h.format))
    return fail(StatusCode::kUnsupported, fmt + " images are not supported");
  if (!h.error.empty()) return fail(StatusCode::kCorrupt, h.error);
  if (!h.unsupported.empty()) return fail(StatusCode::kUnsupported, h.unsupported);

  const bool swap = image::orientation_swaps_axes(h.orientation);
  out.width = swap ? h.height : h.width;
  out.height = swap ? h.width : h.height;
  const std::int64_t pixels = std::int64_t{h.width} * h.height;
  if ((opt.max_pixels > 0 && pixels > opt.max_pixels) || pixels > kOpenCvMaxPixels)
    return fail(StatusCode::kTooLarge,
                fmt + " header says " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                    " = " + std::to_string(pixels) + " pixels, over the limit of " +
                    std::to_string(opt.max_pixels > 0 ? std::min(opt.max_pixels, kOpenCvMaxPixels)
                                                      : kOpenCvMaxPixels));

  // imdecode only reads the buffer; it takes a non-const Mat header over it.
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U,
                    const_cast<char*>(bytes.data()));
  cv::Mat decoded;
  bool decoded_rgb8 = false;  // already 8-bit RGB (the direct JPEG decoder's output)
  int reduction = 1;
  if (h.format == ImageFormat::kJpeg) {
    if (!image::jpeg_is_complete(bytes))
      return fail(StatusCode::kCorrupt, "truncated JPEG (the data ends before the EOI marker)");
    reduction = pick_reduction(out.width, out.height, opt);
    // The frame's own size is checked too: a header parser and libjpeg may disagree.
    const std::int64_t limit = opt.max_pixels > 0 ? std::min(opt.max_pixels, kOpenCvMaxPixels) : kOpenCvMaxPixels;
    image::JpegRgb direct = image::decode_jpeg_rgb(bytes, reduction, limit);
    if (direct.outcome == image::JpegRgb::Outcome::kFailed)
      return fail(StatusCode::kCorrupt, fmt + " decoder could not read the image: " + direct.error);
    if (direct.outcome == image::JpegRgb::Outcome::kTooLarge) return fail(StatusCode::kTooLarge, direct.error);
    decoded_rgb8 = direct.outcome == image::JpegRgb::Outcome::kDecoded;
    decoded = std::move(direct.rgb);
  }
  if (decoded_rgb8) {
    // decoded above
  } else if (h.format == ImageFormat::kJpeg) {  // CMYK, or Motion-JPEG without tables
    int flags = cv::IMREAD_COLOR;
    if (reduction == 2) flags = cv::IMREAD_REDUCED_COLOR_2;
    if (reduction == 4) flags = cv::IMREAD_REDUCED_COLOR_4;
    if (reduction == 8) flags = cv::IMREAD_REDUCED_COLOR_8;
    decoded = cv::imdecode(buf, flags | cv::IMREAD_IGNORE_ORIENTATION);
  } else if (h.format == ImageFormat::kPng || h.format == ImageFormat::kWebp ||
             h.format == ImageFormat::kTiff) {
    // UNCHANGED keeps alpha (to composite it on white) and 16 bits (to scale them);
    // imdecode applies no orientation with this flag.
    decoded = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } else {
    // BMP and PNM: no alpha worth keeping (the 4th byte of 32-bit BMPs is often 0, which
    // would composite the whole picture to white).
    decoded = cv::imdecode(buf, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  }
  if (decoded.empty())
    return fail(StatusCode::kCorrupt, fmt + " decoder could not read the image");
  if (decoded.dims != 2)
    return fail(StatusCode::kUnsupported, fmt + " image with " + std::to_string(decoded.dims) + " dimensions");
  // The decoder is the authority on the size. One that read another size than the header
  // (a header this parser misread) is refused, so --max-pixels and the recorded
  // width/height always describe what was decoded.
  // (A reduced JPEG decode is ceil(size / reduction); libtiff may have applied the TIFF
  // orientation, swapping the axes.)
  const std::int64_t dw = std::int64_t{decoded.cols} * reduction, dh = std::int64_t{decoded.rows} * reduction;
  const auto near = [reduction](std::int64_t got, std::int64_t want) {
    return got >= want && got < want + reduction;
  };
  if (!(near(dw, h.width) && near(dh, h.height)) && !(near(dw, h.height) && near(dh, h.width))) {
    if ((opt.max_pixels > 0 && dw * dh > opt.max_pixels))
      return fail(StatusCode::kTooLarge, fmt + " decoded to " + std::to_string(decoded.cols) + "x" +
                                             std::to_string(decoded.rows) + " though its header says " +
                                             std::to_string(h.width) + "x" + std::to_string(h.height) +
                                             ": over --max-pixels");
    return fail(StatusCode::kCorrupt, fmt + " decoded to " + std::to_string(decoded.cols) + "x" +
                                          std::to_string(decoded.rows) + " though its header says " +
                                          std::to_string(h.width) + "x" + std::to_string(h.height));
  }

  cv::Mat rgb = decoded;
  if (!decoded_rgb8) {
    const Status s = to_rgb8(decoded, rgb);
    if (!s.is_ok()) return fail(s.code, fmt + ": " + s.message);
  }
  out.rgb = image::apply_orientation(rgb, h.orientation);
  out.reduction = reduction;
  out.status = Status::ok();
}

}  // namespace

DecodedImage decode_image(std::string_view bytes, const DecodeOptions& options) {
  DecodedImage out;
  try {
    decode_impl(bytes, options, out);
  } catch (const cv::Exception& e) {
    out.rgb.release();
    out.status = Status::error(StatusCode::kCorrupt, "decoder error: " + e.msg);
  } catch (const std::bad_alloc&) {
    out.rgb.release();
    out.status = Status::error(StatusCode::kTooLarge, "out of memory while decoding");
  } catch (const std::exception& e) {
    out.rgb.release();
    out.status = Status::error(StatusCode::kCorrupt, std::string("decoder error: ") + e.what());
  } catch (...) {
    out.rgb.release();
    out.status = Status::error(StatusCode::kCorrupt, "decoder error (unknown exception)");
  }
  return out;
}

}  // namespace pm
