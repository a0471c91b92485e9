#include <gtest/gtest.h>

#include <cstring>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "exif.h"
#include "image_header.h"
#include "test_util.h"

namespace pm::image {
namespace {

std::string encode(const cv::Mat& bgr, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, bgr, buf, params));
  return std::string(buf.begin(), buf.end());
}

TEST(ImageHeader, SizesFromHeadersMatchTheCorpus) {
  for (const auto& r : test::expected_rows()) {
    if (r.width == 0) continue;
    const HeaderInfo h = read_header(test::read_file(test::bad_images_dir() + "/" + r.file));
    EXPECT_TRUE(h.error.empty()) << r.file << ": " << h.error;
    const bool swap = orientation_swaps_axes(h.orientation);
    EXPECT_EQ(swap ? h.height : h.width, r.width) << r.file;
    EXPECT_EQ(swap ? h.width : h.height, r.height) << r.file;
  }
}

TEST(ImageHeader, EveryDecodableFormatReportsItsSize) {
  const cv::Mat img(37, 53, CV_8UC3, cv::Scalar(10, 20, 30));
  const std::pair<std::string, std::vector<int>> encodings[] = {
      {".jpg", {}}, {".png", {}}, {".bmp", {}}, {".tiff", {}}, {".ppm", {}}, {".pgm", {}},
      {".webp", {cv::IMWRITE_WEBP_QUALITY, 80}},    // lossy: VP8
      {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}}};  // lossless: VP8L
  for (const auto& [ext, params] : encodings) {
    cv::Mat src = img;
    if (ext == ".pgm") src = cv::Mat(37, 53, CV_8UC1, cv::Scalar(5));
    const HeaderInfo h = read_header(encode(src, ext, params));
    EXPECT_TRUE(is_decodable(h.format)) << ext;
    EXPECT_TRUE(h.error.empty()) << ext << ": " << h.error;
    EXPECT_EQ(h.width, 53) << ext;
    EXPECT_EQ(h.height, 37) << ext;
    EXPECT_EQ(h.orientation, 1) << ext;
  }
}

TEST(ImageHeader, HandWrittenHeaders) {
  // PNM with a comment; BMP stored top-down (negative height); WebP extended (VP8X).
  HeaderInfo h = read_header("P6\n# made by hand\n 640  480\n255\n");
  EXPECT_EQ(h.format, ImageFormat::kPnm);
  EXPECT_EQ(h.width, 640);
  EXPECT_EQ(h.height, 480);

  std::string bmp(54, '\0');
  bmp[0] = 'B';
  bmp[1] = 'M';
  bmp[14] = 40;
  bmp[18] = static_cast<char>(0x20);  // width 800 = 0x320
  bmp[19] = 0x03;
  const std::int32_t neg = -600;
  std::memcpy(&bmp[22], &neg, 4);  // little-endian host (x86-64)
  h = read_header(bmp);
  EXPECT_EQ(h.format, ImageFormat::kBmp);
  EXPECT_EQ(h.width, 800);
  EXPECT_EQ(h.height, 600);

  std::string webp = std::string("RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0", 20);
  webp += std::string("\0\0\0\0", 4);             // flags, reserved
  webp += std::string("\x5f\xea\0\x5f\xea\0", 6);  // canvas 60000 x 60000 (minus one)
  h = read_header(webp);
  EXPECT_EQ(h.format, ImageFormat::kWebp);
  EXPECT_EQ(h.width, 60000);
  EXPECT_EQ(h.height, 60000);
  webp[20] = 0x02;  // animation flag
  EXPECT_FALSE(read_header(webp).unsupported.empty());
}

TEST(ImageHeader, RecognisedButNotDecodedAndGarbage) {
  EXPECT_EQ(read_header("GIF89a\x10\0\x10\0").format, ImageFormat::kGif);
  EXPECT_EQ(read_header(std::string("\0\0\0\x18" "ftypheic\0\0\0\0", 16)).format, ImageFormat::kHeif);
  EXPECT_EQ(read_header(std::string("\0\0\0\x1c" "ftypavif\0\0\0\0", 16)).format, ImageFormat::kAvif);
  EXPECT_EQ(read_header("8BPS\0\1").format, ImageFormat::kPsd);
  EXPECT_EQ(read_header("<?xml version=\"1.0\"?>\n<svg xmlns=\"x\"/>").format, ImageFormat::kSvg);
  for (auto f : {ImageFormat::kGif, ImageFormat::kHeif, ImageFormat::kAvif, ImageFormat::kPsd, ImageFormat::kSvg})
    EXPECT_FALSE(is_decodable(f));
  EXPECT_EQ(read_header("hello, world").format, ImageFormat::kUnknown);
  EXPECT_EQ(read_header("").format, ImageFormat::kUnknown);
  // A JPEG cut inside its headers is an error, not a size.
  const std::string jpg = encode(cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), ".jpg");
  EXPECT_FALSE(read_header(jpg.substr(0, 30)).error.empty());
  EXPECT_TRUE(jpeg_is_complete(jpg));
  EXPECT_FALSE(jpeg_is_complete(jpg.substr(0, jpg.size() - 2)));
}

TEST(Exif, OrientationParsingIsBoundsChecked) {
  // Big-endian TIFF with the orientation tag = 8.
  const std::string be("MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x08\0\0\0\0\0\0", 26);
  EXPECT_EQ(exif_orientation(be), 8);
  EXPECT_EQ(exif_orientation(std::string("Exif\0\0", 6) + be), 8);
  for (std::size_t n = 0; n < be.size(); ++n)  // the entry ends at byte 22
    EXPECT_EQ(exif_orientation(be.substr(0, n)), n < 22 ? 1 : 8) << n;  // cut: absent
  std::string bad = be;
  bad[19] = 9;  // out of range
  EXPECT_EQ(exif_orientation(bad), 1);
}

}  // namespace
}  // namespace pm::image
