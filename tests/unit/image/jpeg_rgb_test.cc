// decode_jpeg_rgb against its reference twin, OpenCV's JPEG decoder followed by
// BGR -> RGB: the same pixels, bit for bit, at every DCT reduction, on the Debian photos
// and on files written with every chroma subsampling, progressive or not, with restart
// markers; the files it leaves to OpenCV; and bad bytes.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <jpeglib.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "jpeg_rgb.h"
#include "test_util.h"

namespace pm::image {
namespace {

using Outcome = JpegRgb::Outcome;
constexpr std::int64_t kNoLimit = std::int64_t{1} << 40;

// OpenCV's decode of the same bytes at the same reduction, as RGB (empty if it fails).
cv::Mat opencv_rgb(const std::string& bytes, int reduction) {
  int flags = cv::IMREAD_COLOR;
  if (reduction == 2) flags = cv::IMREAD_REDUCED_COLOR_2;
  if (reduction == 4) flags = cv::IMREAD_REDUCED_COLOR_4;
  if (reduction == 8) flags = cv::IMREAD_REDUCED_COLOR_8;
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  const cv::Mat bgr = cv::imdecode(buf, flags | cv::IMREAD_IGNORE_ORIENTATION);
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// Fails the test (with the file's name) unless both decoders give identical pixels.
void expect_same_as_opencv(const std::string& bytes, const std::string& name) {
  for (int r : {1, 2, 4, 8}) {
    const JpegRgb got = decode_jpeg_rgb(bytes, r, kNoLimit);
    ASSERT_EQ(got.outcome, Outcome::kDecoded) << name << " 1/" << r << ": " << got.error;
    const cv::Mat want = opencv_rgb(bytes, r);
    ASSERT_FALSE(want.empty()) << name;
    ASSERT_EQ(got.rgb.type(), CV_8UC3) << name;
    ASSERT_EQ(got.rgb.size(), want.size()) << name << " 1/" << r;
    EXPECT_EQ(cv::norm(got.rgb, want, cv::NORM_INF), 0) << name << " 1/" << r;
  }
}

// A picture with edges and gradients in every channel, of a size that is not a multiple
// of any MCU.
cv::Mat test_picture(int h, int w) {
  cv::Mat rgb(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 7 + y * 3) % 256), static_cast<uchar>(255 * y / h),
                                          static_cast<uchar>((x / 9 + y / 5) % 2 ? 230 : 20));
  return rgb;
}

// Writes a JPEG with libjpeg, choosing what OpenCV's encoder cannot: the luma sampling
// factors (2x2 = 4:2:0, 2x1 = 4:2:2, 1x1 = 4:4:4), progressive scans, restart markers.
std::string write_jpeg(const cv::Mat& rgb, int h_samp, int v_samp, bool progressive, int restart_rows,
                       bool grey = false) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = static_cast<JDIMENSION>(rgb.cols);
  c.image_height = static_cast<JDIMENSION>(rgb.rows);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  if (grey) jpeg_set_colorspace(&c, JCS_GRAYSCALE);
  jpeg_set_quality(&c, 90, TRUE);
  c.comp_info[0].h_samp_factor = h_samp;
  c.comp_info[0].v_samp_factor = v_samp;
  c.restart_in_rows = restart_rows;
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPLE*>(rgb.ptr<JSAMPLE>(static_cast<int>(c.next_scanline)));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string bytes(reinterpret_cast<char*>(out), size);
  std::free(out);
  return bytes;
}

TEST(JpegRgb, SameAsOpenCvOnTheDebianPhotos) {
  int photos = 0;
  for (const char* dir : {"/usr/share/doc/opencv-doc/examples/data", "/usr/share/darknet/data"}) {
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".jpg") continue;
      expect_same_as_opencv(test::read_file(e.path().string()), e.path().filename().string());
      ++photos;
    }
  }
  // The photos come with the image dependencies (scripts/deps/image.txt): their absence
  // is a broken setup, not a reason to pass.
  EXPECT_GE(photos, 20);
}

TEST(JpegRgb, SameAsOpenCvForEverySubsamplingScanModeAndRestartInterval) {
  const cv::Mat picture = test_picture(157, 203);
  for (const auto& [h, v] : {std::pair{1, 1}, {2, 1}, {1, 2}, {2, 2}})
    for (bool progressive : {false, true})
      for (int restart : {0, 1}) {
        const std::string name = "samp " + std::to_string(h) + "x" + std::to_string(v) +
                                 (progressive ? " progressive" : " baseline") + " restart " + std::to_string(restart);
        expect_same_as_opencv(write_jpeg(picture, h, v, progressive, restart), name);
      }
  expect_same_as_opencv(write_jpeg(picture, 1, 1, false, 0, /*grey=*/true), "grey");
  expect_same_as_opencv(write_jpeg(test_picture(1, 1), 2, 2, false, 0), "1x1");
}

TEST(JpegRgb, LeavesCmykToOpenCv) {
  const JpegRgb got = decode_jpeg_rgb(test::read_file(test::bad_images_dir() + "/cmyk.jpg"), 1, kNoLimit);
  EXPECT_EQ(got.outcome, Outcome::kNotHandled);
  EXPECT_TRUE(got.rgb.empty());
}

TEST(JpegRgb, AFrameOverThePixelLimitIsRefusedBeforeDecoding) {
  const std::string jpg = write_jpeg(test_picture(50, 40), 2, 2, false, 0);  // 40x50 = 2000 px
  const JpegRgb over = decode_jpeg_rgb(jpg, 1, 1999);
  EXPECT_EQ(over.outcome, Outcome::kTooLarge);
  EXPECT_TRUE(over.rgb.empty());
  EXPECT_NE(over.error.find("40x50 = 2000 pixels, over the limit of 1999"), std::string::npos) << over.error;
  // The limit is on the frame, not on the reduced output.
  EXPECT_EQ(decode_jpeg_rgb(jpg, 8, 1999).outcome, Outcome::kTooLarge);
  EXPECT_EQ(decode_jpeg_rgb(jpg, 1, 2000).outcome, Outcome::kDecoded);
}

TEST(JpegRgb, BadBytesAreAFailureWithLibjpegsMessage) {
  for (const std::string& bytes : {std::string(), std::string("\xFF\xD8\xFF\xE0", 4), std::string(100, 'x')}) {
    const JpegRgb got = decode_jpeg_rgb(bytes, 1, kNoLimit);
    EXPECT_EQ(got.outcome, Outcome::kFailed);
    EXPECT_FALSE(got.error.empty());
    EXPECT_TRUE(got.rgb.empty());
  }
}

// Corrupted entropy-coded data: where OpenCV decodes, the direct decoder gives its
// pixels; where OpenCV fails, so does the direct decoder.
TEST(JpegRgb, CorruptDataGivesOpenCvsResult) {
  const std::string good = write_jpeg(test_picture(96, 128), 2, 2, false, 0);
  const std::string prog = write_jpeg(test_picture(96, 128), 2, 2, true, 0);
  cv::RNG rng(2026);
  int decoded = 0, failed = 0;
  for (const std::string* f : {&good, &prog}) {
    for (int trial = 0; trial < 200; ++trial) {
      std::string m = *f;
      const int edits = 1 + rng.uniform(0, 4);
      for (int e = 0; e < edits; ++e)  // after the headers, before EOI
        m[static_cast<std::size_t>(rng.uniform(700, static_cast<int>(m.size()) - 2))] =
            static_cast<char>(rng.uniform(0, 256));
      const JpegRgb got = decode_jpeg_rgb(m, 1, kNoLimit);
      const cv::Mat want = opencv_rgb(m, 1);
      if (want.empty()) {
        EXPECT_EQ(got.outcome, Outcome::kFailed) << "trial " << trial;
        ++failed;
      } else {
        ASSERT_EQ(got.outcome, Outcome::kDecoded) << "trial " << trial << ": " << got.error;
        EXPECT_EQ(cv::norm(got.rgb, want, cv::NORM_INF), 0) << "trial " << trial;
        ++decoded;
      }
    }
  }
  EXPECT_EQ(decoded + failed, 400);
  EXPECT_GT(decoded, 0);  // corrupt data that libjpeg recovers from was exercised
}

}  // namespace
}  // namespace pm::image
