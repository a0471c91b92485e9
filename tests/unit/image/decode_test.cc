#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "exif.h"
#include "pixelmill/decode.h"
#include "test_util.h"

namespace pm {
namespace {

using test::expected_rows;
using test::read_file;

std::string corpus(const std::string& name) { return read_file(test::bad_images_dir() + "/" + name); }

// A picture with no symmetry, so that every orientation gives a different image.
cv::Mat asymmetric_bgr(int h, int w) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(255 * x / w), static_cast<uchar>(255 * y / h),
                                          static_cast<uchar>(x < w / 4 && y < h / 3 ? 255 : 40));
  return img;
}

std::string encode(const cv::Mat& bgr, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, bgr, buf, params));
  return std::string(buf.begin(), buf.end());
}

// Inserts an APP1 EXIF segment holding only the Orientation tag right after SOI.
std::string with_orientation(const std::string& jpeg, int orientation) {
  std::string tiff("II*\0\x08\0\0\0", 8);  // little-endian, IFD0 at 8
  tiff += std::string("\x01\0", 2);        // one entry
  tiff += std::string("\x12\x01\x03\0\x01\0\0\0", 8);  // tag 0x0112, SHORT, count 1
  tiff += static_cast<char>(orientation);
  tiff += std::string("\0\0\0", 3);
  tiff += std::string("\0\0\0\0", 4);  // no next IFD
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const std::size_t len = payload.size() + 2;
  std::string seg = "\xFF\xE1";
  seg += static_cast<char>(len >> 8);
  seg += static_cast<char>(len & 0xFF);
  return jpeg.substr(0, 2) + seg + payload + jpeg.substr(2);
}

cv::Mat to_rgb(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) return 1e9;
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(Decode, EveryCorpusFileGetsItsExpectedStatus) {
  const auto rows = expected_rows();
  ASSERT_GE(rows.size(), 20u);
  for (const auto& target : {cv::Size(0, 0), cv::Size(288, 288)}) {
    DecodeOptions o;
    o.target_width = target.width;
    o.target_height = target.height;
    for (const auto& r : rows) {
      const DecodedImage d = decode_image(corpus(r.file), o);
      EXPECT_EQ(status_name(d.status.code), r.status) << r.file << ": " << d.status.message;
      if (d.status.is_ok()) {
        EXPECT_TRUE(d.status.message.empty());
        EXPECT_EQ(d.rgb.type(), CV_8UC3) << r.file;
        EXPECT_EQ(d.width, r.width) << r.file;
        EXPECT_EQ(d.height, r.height) << r.file;
        EXPECT_EQ(d.rgb.cols, (d.width + d.reduction - 1) / d.reduction) << r.file;
        EXPECT_EQ(d.rgb.rows, (d.height + d.reduction - 1) / d.reduction) << r.file;
      } else {
        EXPECT_TRUE(d.rgb.empty()) << r.file;
        EXPECT_FALSE(d.status.message.empty()) << r.file;
      }
      if (r.status == "too_large") {
        EXPECT_EQ(d.width, r.width);
        EXPECT_EQ(d.height, r.height);
      }
    }
  }
}

TEST(Decode, ReducedDecodeOnlyWhenAtLeastTwiceTheTarget) {
  const std::string big = corpus("large_4x.jpg");  // 1600x1200
  DecodeOptions o;
  const std::pair<cv::Size, int> cases[] = {
      {{288, 288}, 4}, {{200, 150}, 8}, {{400, 300}, 4}, {{401, 300}, 2},
      {{800, 600}, 2}, {{801, 600}, 1}, {{0, 0}, 1}};
  for (const auto& [target, reduction] : cases) {
    o.target_width = target.width;
    o.target_height = target.height;
    const DecodedImage d = decode_image(big, o);
    ASSERT_TRUE(d.status.is_ok()) << d.status.message;
    EXPECT_EQ(d.reduction, reduction) << target;
    EXPECT_EQ(d.width, 1600);
    EXPECT_EQ(d.height, 1200);
    EXPECT_EQ(d.rgb.cols, 1600 / reduction);
  }
  o.target_width = 200;
  o.target_height = 150;
  o.reduced_decode = false;
  EXPECT_EQ(decode_image(big, o).reduction, 1);
  // Reduced decode approximates the full decode scaled down.
  const DecodedImage full = decode_image(big, DecodeOptions{});
  o.reduced_decode = true;
  const DecodedImage r4 = decode_image(big, DecodeOptions{400, 300});
  cv::Mat down;
  cv::resize(full.rgb, down, cv::Size(400, 300), 0, 0, cv::INTER_AREA);
  EXPECT_LT(mean_abs_diff(down, r4.rgb), 4.0);
}

TEST(Decode, ExifOrientationMatchesOpenCvAtFullSizeAndIsAppliedToReducedDecodes) {
  const cv::Mat bgr = asymmetric_bgr(240, 320);
  const std::string plain = encode(bgr, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  for (int k = 1; k <= 8; ++k) {
    const std::string jpeg = with_orientation(plain, k);
    const DecodedImage d = decode_image(jpeg, DecodeOptions{});
    ASSERT_TRUE(d.status.is_ok()) << d.status.message;
    // OpenCV's own IMREAD_COLOR applies EXIF orientation: the oracle at full size.
    EXPECT_TRUE(same(d.rgb, to_rgb(cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U,
                                                        const_cast<char*>(jpeg.data())),
                                                cv::IMREAD_COLOR))))
        << "orientation " << k;
    EXPECT_EQ(d.width, k >= 5 ? 240 : 320);
    EXPECT_EQ(d.height, k >= 5 ? 320 : 240);
    // Reduced: the upright half-size decode looks like the upright full decode halved.
    const DecodedImage r = decode_image(jpeg, DecodeOptions{d.width / 2, d.height / 2});
    ASSERT_EQ(r.reduction, 2);
    cv::Mat down;
    cv::resize(d.rgb, down, r.rgb.size(), 0, 0, cv::INTER_AREA);
    EXPECT_LT(mean_abs_diff(down, r.rgb), 5.0) << "orientation " << k;
    if (k != 1) {
      // and not like the image left as stored
      cv::Mat stored;
      cv::resize(to_rgb(bgr), stored, cv::Size(160, 120), 0, 0, cv::INTER_AREA);
      EXPECT_GT(mean_abs_diff(stored, r.rgb), 20.0) << "orientation " << k;
    }
  }
}

TEST(Decode, ExifFileWrittenByPillowIsTurnedUpright) {
  const DecodedImage d = decode_image(corpus("exif_rotate90.jpg"), DecodeOptions{});
  const DecodedImage g = decode_image(corpus("good.jpg"), DecodeOptions{});
  ASSERT_TRUE(d.status.is_ok() && g.status.is_ok());
  cv::Mat rotated;
  cv::rotate(g.rgb, rotated, cv::ROTATE_90_CLOCKWISE);
  EXPECT_LT(mean_abs_diff(rotated, d.rgb), 3.0);
}

TEST(Decode, AlphaIsCompositedOnWhite) {
  const DecodedImage a = decode_image(corpus("alpha.png"), DecodeOptions{});
  const DecodedImage g = decode_image(corpus("good.png"), DecodeOptions{});
  ASSERT_TRUE(a.status.is_ok() && g.status.is_ok());
  const cv::Rect left(0, 0, 160, 240), right(160, 0, 160, 240);
  EXPECT_EQ(cv::countNonZero(a.rgb(left).reshape(1) != 255), 0);  // transparent -> white
  EXPECT_TRUE(same(a.rgb(right), g.rgb(right)));                  // opaque -> unchanged
}

TEST(Decode, GreySixteenBitAndCmykBecomeRgb8) {
  const DecodedImage gray = decode_image(corpus("gray.png"), DecodeOptions{});
  ASSERT_TRUE(gray.status.is_ok());
  std::vector<cv::Mat> ch;
  cv::split(gray.rgb, ch);
  EXPECT_TRUE(same(ch[0], ch[1]) && same(ch[1], ch[2]));

  const std::string deep = corpus("depth16.png");
  const DecodedImage d16 = decode_image(deep, DecodeOptions{});
  ASSERT_TRUE(d16.status.is_ok());
  // The file holds v*257 for 8-bit v: scaling back must give v exactly.
  const cv::Mat raw = cv::imdecode(cv::Mat(1, static_cast<int>(deep.size()), CV_8U,
                                           const_cast<char*>(deep.data())), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(raw.depth(), CV_16U);
  cv::Mat expect8;
  cv::Mat(raw / 257).convertTo(expect8, CV_8U);  // exact: every value is v*257
  EXPECT_TRUE(same(d16.rgb, to_rgb(expect8)));

  const DecodedImage cmyk = decode_image(corpus("cmyk.jpg"), DecodeOptions{});
  const DecodedImage good = decode_image(corpus("good.png"), DecodeOptions{});  // lossless
  ASSERT_TRUE(cmyk.status.is_ok());
  EXPECT_LT(mean_abs_diff(cmyk.rgb, good.rgb), 5.0);  // colours right, not inverted
}

TEST(Decode, ReducedDecodeOfGreyAndCmykJpegs) {
  for (const char* name : {"cmyk.jpg", "gray.jpg"}) {
    const std::string bytes = corpus(name);  // 320x240
    const DecodedImage full = decode_image(bytes, DecodeOptions{});
    const DecodedImage half = decode_image(bytes, DecodeOptions{160, 120});
    ASSERT_TRUE(full.status.is_ok() && half.status.is_ok()) << name;
    EXPECT_EQ(half.reduction, 2);
    EXPECT_EQ(half.rgb.size(), cv::Size(160, 120));
    cv::Mat down;
    cv::resize(full.rgb, down, half.rgb.size(), 0, 0, cv::INTER_AREA);
    EXPECT_LT(mean_abs_diff(down, half.rgb), 4.0) << name;
  }
}

std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

TEST(Decode, PngExifOrientationIsApplied) {
  const cv::Mat bgr = asymmetric_bgr(40, 60);
  const std::string png = encode(bgr, ".png");
  // eXIf chunk (TIFF, orientation 8) right after IHDR (8 + 25 bytes).
  const std::string tiff("MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x08\0\0\0\0\0\0", 26);
  const std::string body = "eXIf" + tiff;
  const std::string chunk = be32(static_cast<std::uint32_t>(tiff.size())) + body + be32(crc32(body));
  const std::string with_exif = png.substr(0, 33) + chunk + png.substr(33);
  const DecodedImage d = decode_image(with_exif, DecodeOptions{});
  ASSERT_TRUE(d.status.is_ok()) << d.status.message;
  EXPECT_EQ(d.width, 40);
  EXPECT_EQ(d.height, 60);
  cv::Mat expect;
  cv::rotate(to_rgb(bgr), expect, cv::ROTATE_90_COUNTERCLOCKWISE);  // orientation 8
  EXPECT_TRUE(same(d.rgb, expect));
}

TEST(Decode, BmpAlphaByteIsIgnored) {
  // Many writers leave the 4th byte of 32-bit BMP pixels at 0: that is not transparency.
  cv::Mat bgra(20, 30, CV_8UC4, cv::Scalar(10, 100, 200, 0));
  const std::string bmp = encode(bgra, ".bmp");
  const DecodedImage d = decode_image(bmp, DecodeOptions{});
  ASSERT_TRUE(d.status.is_ok()) << d.status.message;
  EXPECT_EQ(d.rgb.at<cv::Vec3b>(5, 5), cv::Vec3b(200, 100, 10));
}

TEST(Decode, LimitsOnBytesAndPixels) {
  const std::string jpg = corpus("good.jpg");
  DecodeOptions o;
  o.max_bytes = 100;
  DecodedImage d = decode_image(jpg, o);
  EXPECT_EQ(d.status.code, StatusCode::kTooLarge);
  o = DecodeOptions{};
  o.max_pixels = 320 * 240 - 1;
  d = decode_image(jpg, o);
  EXPECT_EQ(d.status.code, StatusCode::kTooLarge);
  EXPECT_EQ(d.width, 320);
  EXPECT_NE(d.status.message.find("320x240"), std::string::npos) << d.status.message;
  o.max_pixels = 320 * 240;
  EXPECT_TRUE(decode_image(jpg, o).status.is_ok());
}

// Headers that this parser and a decoder could read as different sizes are refused, or
// read as the decoder reads them, so that --max-pixels holds for what is decoded.
TEST(Decode, HeadersThatDecodersReadOtherwiseDoNotPassThePixelLimit) {
  // A TIFF with ImageWidth twice (the real width, then 1): libtiff keeps the first.
  std::vector<uchar> buf;
  ASSERT_TRUE(cv::imencode(".tiff", cv::Mat(600, 600, CV_8UC3, cv::Scalar(1, 2, 3)), buf));
  std::string tiff(buf.begin(), buf.end());
  ASSERT_EQ(tiff.substr(0, 2), "II");
  const auto le16 = [&](std::size_t i) { return static_cast<unsigned>(static_cast<uchar>(tiff[i])) |
                                                (static_cast<unsigned>(static_cast<uchar>(tiff[i + 1])) << 8); };
  const std::size_t ifd = le16(4) | (le16(6) << 16);
  bool patched = false;
  for (unsigned k = 0; k < le16(ifd) && !patched; ++k) {
    const std::size_t e = ifd + 2 + 12 * k;
    if (le16(e) == 284 || le16(e) == 277) {  // PlanarConfiguration or SamplesPerPixel -> ImageWidth
      tiff[e] = static_cast<char>(256 & 0xFF);
      tiff[e + 1] = static_cast<char>(256 >> 8);
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  DecodeOptions o;
  o.max_pixels = 1000;
  DecodedImage d = decode_image(tiff, o);
  EXPECT_EQ(d.status.code, StatusCode::kCorrupt) << d.status.message;
  EXPECT_NE(d.status.message.find("ambiguous"), std::string::npos) << d.status.message;
  EXPECT_TRUE(d.rgb.empty());

  // A PNM comment that ends in '\r': OpenCV reads the size after it, and so must we.
  std::string pnm = "P5\n# made by hand\r64 48\n255\n" + std::string(64 * 48, '\x40');
  d = decode_image(pnm, o);
  EXPECT_EQ(d.status.code, StatusCode::kTooLarge) << d.status.message;
  EXPECT_NE(d.status.message.find("64x48"), std::string::npos) << d.status.message;
  d = decode_image(pnm, DecodeOptions{});
  ASSERT_TRUE(d.status.is_ok()) << d.status.message;
  EXPECT_EQ(d.rgb.cols, 64);
  EXPECT_EQ(d.rgb.rows, 48);

  // A size with more digits than any valid one is refused, not cut into two numbers.
  d = decode_image("P5\n12345678901 1\n255\n" + std::string(16, '\x40'), DecodeOptions{});
  EXPECT_EQ(d.status.code, StatusCode::kCorrupt) << d.status.message;
}

TEST(Decode, EveryTruncationOfAJpegIsReportedNotThrown) {
  for (bool progressive : {false, true}) {
    const std::string jpg =
        encode(asymmetric_bgr(64, 80), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0});
    for (std::size_t n = 0; n < jpg.size(); n += (n < 700 ? 1 : 13)) {
      const DecodedImage d = decode_image(std::string_view(jpg).substr(0, n), DecodeOptions{});
      EXPECT_EQ(d.status.code, n == 0 ? StatusCode::kEmpty : StatusCode::kCorrupt) << "cut at " << n;
    }
    EXPECT_EQ(decode_image(std::string_view(jpg).substr(0, jpg.size() - 1), DecodeOptions{}).status.code,
              StatusCode::kCorrupt);
    EXPECT_TRUE(decode_image(jpg, DecodeOptions{}).status.is_ok());
    // Bytes after EOI (some cameras append data) are harmless.
    EXPECT_TRUE(decode_image(jpg + std::string(100, 'x'), DecodeOptions{}).status.is_ok());
  }
}

TEST(Decode, RandomCorruptionNeverEscapesAsAnException) {
  const std::string files[] = {encode(asymmetric_bgr(48, 64), ".jpg"), encode(asymmetric_bgr(48, 64), ".png"),
                               encode(asymmetric_bgr(48, 64), ".webp"), encode(asymmetric_bgr(48, 64), ".bmp"),
                               encode(asymmetric_bgr(48, 64), ".tiff")};
  cv::RNG rng(12345);
  int ok = 0, failed = 0;
  for (const auto& f : files) {
    for (int trial = 0; trial < 150; ++trial) {
      std::string m = f;
      const int edits = 1 + rng.uniform(0, 8);
      for (int e = 0; e < edits; ++e)
        m[static_cast<std::size_t>(rng.uniform(0, static_cast<int>(m.size())))] = static_cast<char>(rng.uniform(0, 256));
      DecodedImage d;
      EXPECT_NO_THROW(d = decode_image(m, DecodeOptions{}));
      if (d.status.is_ok()) {
        EXPECT_EQ(d.rgb.type(), CV_8UC3);
        ++ok;
      } else {
        EXPECT_FALSE(d.status.message.empty());
        ++failed;
      }
    }
  }
  EXPECT_EQ(ok + failed, 750);
}

}  // namespace
}  // namespace pm
