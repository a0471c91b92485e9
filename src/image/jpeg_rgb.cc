#include "jpeg_rgb.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

namespace pm::image {
namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps
// back to the setjmp in run_decode with the message kept here.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

extern "C" void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (corrupt data the library recovers from, as OpenCV also accepts) are not
// printed: the row is decoded as the library recovered it.
extern "C" void on_output_message(j_common_ptr) {}

// Owns the decompressor (jpeg_destroy_decompress on every path).
struct Decompressor {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  Decompressor() {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error_exit;
    err.pub.output_message = on_output_message;
    jpeg_create_decompress(&cinfo);
  }
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
};

bool has_huffman_tables(const jpeg_decompress_struct& c) {
  return c.ac_huff_tbl_ptrs[0] || c.ac_huff_tbl_ptrs[1] || c.dc_huff_tbl_ptrs[0] || c.dc_huff_tbl_ptrs[1];
}

// Only trivially destructible locals live in this frame: a libjpeg error longjmps back
// into it. `out` and `d` belong to the caller. Returns false after a libjpeg error.
bool run_decode(Decompressor& d, const unsigned char* data, unsigned long size, int reduction,
                std::int64_t max_pixels, JpegRgb& out) {
  if (setjmp(d.err.jump) != 0) return out.outcome == JpegRgb::Outcome::kDecoded;
  jpeg_decompress_struct& c = d.cinfo;
  jpeg_mem_src(&c, data, size);
  if (jpeg_read_header(&c, TRUE) != JPEG_HEADER_OK) {
    std::snprintf(d.err.message, sizeof d.err.message, "no image in the JPEG stream");
    return false;
  }
  const std::int64_t pixels = std::int64_t{c.image_width} * c.image_height;
  if (pixels > max_pixels) {
    std::snprintf(d.err.message, sizeof d.err.message, "JPEG frame is %ux%u = %lld pixels, over the limit of %lld",
                  c.image_width, c.image_height, static_cast<long long>(pixels), static_cast<long long>(max_pixels));
    out.outcome = JpegRgb::Outcome::kTooLarge;
    return true;
  }
  if (c.num_components == 4 || !has_huffman_tables(c)) {
    out.outcome = JpegRgb::Outcome::kNotHandled;
    return true;
  }
  c.scale_num = 1;
  c.scale_denom = static_cast<unsigned int>(reduction);
  c.out_color_space = JCS_RGB;
  jpeg_start_decompress(&c);
  if (c.output_components != 3) {  // JCS_RGB always gives 3; checked, not assumed
    std::snprintf(d.err.message, sizeof d.err.message, "libjpeg gave %d components for RGB", c.output_components);
    return false;
  }
  out.rgb.create(static_cast<int>(c.output_height), static_cast<int>(c.output_width), CV_8UC3);
  // Several rows per call: libjpeg fills up to rec_outbuf_height rows at once.
  constexpr int kRows = 16;
  JSAMPROW rows[kRows];
  while (c.output_scanline < c.output_height) {
    const int first = static_cast<int>(c.output_scanline);
    const int n = std::min<int>(kRows, static_cast<int>(c.output_height) - first);
    for (int i = 0; i < n; ++i) rows[i] = out.rgb.ptr<JSAMPLE>(first + i);
    if (jpeg_read_scanlines(&c, rows, static_cast<JDIMENSION>(n)) == 0) {
      std::snprintf(d.err.message, sizeof d.err.message, "JPEG data ends at row %d", first);
      return false;
    }
  }
  // Every row is decoded. An error from here on (a bad marker after the last scan) loses
  // no pixel, and OpenCV accepts the image too: it stays decoded.
  out.outcome = JpegRgb::Outcome::kDecoded;
  jpeg_finish_decompress(&c);
  return true;
}

}  // namespace

JpegRgb decode_jpeg_rgb(std::string_view bytes, int reduction, std::int64_t max_pixels) {
  JpegRgb out;
  Decompressor d;
  if (!run_decode(d, reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<unsigned long>(bytes.size()), reduction, max_pixels, out)) {
    out.outcome = JpegRgb::Outcome::kFailed;
    out.rgb.release();
    out.error = d.err.message;
  } else if (out.outcome == JpegRgb::Outcome::kTooLarge) {
    out.error = d.err.message;
  }
  return out;
}

}  // namespace pm::image
