#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "pixelmill/error.h"
#include "pixelmill/preprocess.h"
#include "preprocess_geometry.h"
#include "preprocess_ref.h"

namespace pm {
namespace {

ModelCard card(DType dtype, TensorLayout layout, int h, int w,
               ResizePolicy resize = ResizePolicy::kSquash) {
  ModelCard c;
  c.name = "test";
  c.input.name = "x";
  c.input.dtype = dtype;
  c.input.layout = layout;
  c.input.height = h;
  c.input.width = w;
  c.resize = resize;
  c.interpolation = Interpolation::kArea;
  if (dtype == DType::kF32) {
    c.scale = 1.0f / 255.0f;
    c.mean = {0.485f, 0.456f, 0.406f};
    c.stddev = {0.229f, 0.224f, 0.225f};
  }
  return c;
}

// Pixel (y, x) of a synthetic RGB image: distinct values per channel and position.
cv::Mat pattern(int h, int w) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(10 * y + x), static_cast<uchar>(100 + 10 * y + x),
                                        static_cast<uchar>(200 - 10 * y - x));
  return m;
}

TEST(Preprocess, BatchTensorShapeFollowsTheCard) {
  const Tensor a = make_batch_tensor(card(DType::kU8, TensorLayout::kNHWC, 288, 256), 4);
  EXPECT_EQ(a.dtype(), DType::kU8);
  EXPECT_EQ(a.shape(), (Dims{4, 288, 256, 3}));
  const Tensor b = make_batch_tensor(card(DType::kF32, TensorLayout::kNCHW, 64, 32), 2);
  EXPECT_EQ(b.dtype(), DType::kF32);
  EXPECT_EQ(b.shape(), (Dims{2, 3, 64, 32}));
  EXPECT_THROW(make_batch_tensor(card(DType::kU8, TensorLayout::kNHWC, 8, 8), 0), Error);
}

TEST(Preprocess, Uint8NhwcSameSizeIsACopy) {
  const ModelCard c = card(DType::kU8, TensorLayout::kNHWC, 3, 4);
  Tensor t = make_batch_tensor(c, 2);
  const cv::Mat img = pattern(3, 4);
  preprocess_into(img, c, t, 1);
  const std::uint8_t* p = t.ptr<std::uint8_t>();
  for (int i = 0; i < 36; ++i) EXPECT_EQ(p[i], 0) << "image 0 untouched";
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x)
      for (int ch = 0; ch < 3; ++ch)
        EXPECT_EQ(p[36 + (y * 4 + x) * 3 + ch], img.at<cv::Vec3b>(y, x)[ch]);
}

TEST(Preprocess, Float32NchwBgrNormalisesEachChannel) {
  ModelCard c = card(DType::kF32, TensorLayout::kNCHW, 3, 4);
  c.input.color = ColorOrder::kBGR;
  Tensor t = make_batch_tensor(c, 1);
  const cv::Mat img = pattern(3, 4);
  preprocess_into(img, c, t, 0);
  const float* p = t.ptr<float>();
  for (int ch = 0; ch < 3; ++ch)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) {
        const int v = img.at<cv::Vec3b>(y, x)[2 - ch];  // model channel 0 is blue
        const float want = (v / 255.0f - c.mean[ch]) / c.stddev[ch];
        EXPECT_NEAR(p[(ch * 3 + y) * 4 + x], want, 1e-5f);
      }
}

TEST(Preprocess, SquashAreaAveragesBlocks) {
  // 4x8 -> 2x4 with INTER_AREA: every output is the mean of a 2x2 block.
  const ModelCard c = card(DType::kU8, TensorLayout::kNHWC, 2, 4);
  Tensor t = make_batch_tensor(c, 1);
  cv::Mat img(4, 8, CV_8UC3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(8 * y + 2 * x), 50, 0);
  preprocess_into(img, c, t, 0);
  const std::uint8_t* p = t.ptr<std::uint8_t>();
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x) {
      // (8*2y + 2*2x + 8*2y + 2*(2x+1) + 8*(2y+1) + ...)/4 = 16y + 4x + 5
      EXPECT_EQ(p[(y * 4 + x) * 3 + 0], 16 * y + 4 * x + 5);
      EXPECT_EQ(p[(y * 4 + x) * 3 + 1], 50);
    }
}

TEST(Preprocess, ShortSideCropTakesTheCentre) {
  // 4 high x 8 wide into 4x4: the short side already fits, so the centre columns 2..5.
  const ModelCard c = card(DType::kU8, TensorLayout::kNHWC, 4, 4, ResizePolicy::kShortSideCrop);
  Tensor t = make_batch_tensor(c, 1);
  const cv::Mat img = pattern(4, 8);
  preprocess_into(img, c, t, 0);
  const std::uint8_t* p = t.ptr<std::uint8_t>();
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      for (int ch = 0; ch < 3; ++ch) EXPECT_EQ(p[(y * 4 + x) * 3 + ch], img.at<cv::Vec3b>(y, x + 2)[ch]);
}

TEST(Preprocess, LetterboxPadsAboveAndBelow) {
  // 4 high x 8 wide into 4x4: scaled to 2x4 (2x2 block means), rows 1..2, pad rows 0 and 3.
  ModelCard c = card(DType::kF32, TensorLayout::kNCHW, 4, 4, ResizePolicy::kLetterbox);
  c.pad_value = 114;
  Tensor t = make_batch_tensor(c, 1);
  cv::Mat img(4, 8, CV_8UC3, cv::Scalar(0, 0, 0));
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(8 * y + 2 * x), 60, 255);
  preprocess_into(img, c, t, 0);
  const float* p = t.ptr<float>();
  auto norm = [&](int ch, int v) { return (static_cast<float>(v) * c.scale - c.mean[ch]) / c.stddev[ch]; };
  for (int ch = 0; ch < 3; ++ch)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        int v;
        if (y == 0 || y == 3)
          v = 114;
        else
          v = ch == 0 ? 16 * (y - 1) + 4 * x + 5 : ch == 1 ? 60 : 255;
        EXPECT_FLOAT_EQ(p[(ch * 4 + y) * 4 + x], norm(ch, v)) << ch << " " << y << " " << x;
      }
}

TEST(Preprocess, ShortSideCropOfAnExtremeStripKeepsTheIntermediateSmall) {
  // A 1 x 60000 strip into 64x64 would be resized to 64 x 3,840,000 (737 MB) before the
  // centre crop; the source is cut to the centre first.
  const ModelCard c = card(DType::kU8, TensorLayout::kNHWC, 64, 64, ResizePolicy::kShortSideCrop);
  for (const cv::Size src : {cv::Size(1, 60000), cv::Size(60000, 1), cv::Size(3, 5000)}) {
    const image::Placement p = image::place(src, c);
    EXPECT_LE(static_cast<std::int64_t>(p.resized.width) * p.resized.height,
              std::int64_t{image::kMaxCropOvershoot} * 64 * 64) << src;
    EXPECT_TRUE((cv::Rect(0, 0, src.width, src.height) & p.source) == p.source) << src;
    EXPECT_TRUE((cv::Rect(0, 0, p.resized.width, p.resized.height) & p.roi) == p.roi) << src;
  }
  // Ordinary shapes are not cut at all.
  for (const cv::Size src : {cv::Size(640, 480), cv::Size(100, 300), cv::Size(8, 4)})
    EXPECT_EQ(image::place(src, c).source, cv::Rect(0, 0, src.width, src.height)) << src;
  // The fast path and its reference agree on such a strip, and the slot is its centre.
  cv::Mat strip(60000, 1, CV_8UC3);
  for (int y = 0; y < strip.rows; ++y) strip.at<cv::Vec3b>(y, 0) = cv::Vec3b(y % 251, 7, 200);
  Tensor fast = make_batch_tensor(c, 1), ref = make_batch_tensor(c, 1);
  preprocess_into(strip, c, fast, 0);
  image::preprocess_reference_into(strip, c, ref, 0);
  for (std::int64_t i = 0; i < fast.numel(); ++i)
    ASSERT_EQ(fast.ptr<std::uint8_t>()[i], ref.ptr<std::uint8_t>()[i]) << i;
  EXPECT_EQ(fast.ptr<std::uint8_t>()[1], 7);  // the G channel, constant along the strip
}

TEST(Preprocess, FastPathEqualsReferenceForEveryCardVariant) {
  cv::RNG rng(99);
  int checked = 0;
  for (DType dt : {DType::kU8, DType::kF32})
    for (TensorLayout lay : {TensorLayout::kNHWC, TensorLayout::kNCHW})
      for (ColorOrder col : {ColorOrder::kRGB, ColorOrder::kBGR})
        for (ResizePolicy rp : {ResizePolicy::kSquash, ResizePolicy::kShortSideCrop, ResizePolicy::kLetterbox})
          for (Interpolation ip : {Interpolation::kArea, Interpolation::kLinear, Interpolation::kCubic}) {
            ModelCard c = card(dt, lay, 24, 32, rp);
            c.input.color = col;
            c.interpolation = ip;
            c.pad_value = 7;
            Tensor fast = make_batch_tensor(c, 3), ref = make_batch_tensor(c, 3);
            for (int i = 0; i < 3; ++i) {
              cv::Mat img(rng.uniform(5, 90), rng.uniform(5, 90), CV_8UC3);
              rng.fill(img, cv::RNG::UNIFORM, 0, 256);
              preprocess_into(img, c, fast, i);
              image::preprocess_reference_into(img, c, ref, i);
            }
            if (dt == DType::kU8) {
              for (std::int64_t i = 0; i < fast.numel(); ++i)
                ASSERT_EQ(fast.ptr<std::uint8_t>()[i], ref.ptr<std::uint8_t>()[i]) << i;
            } else {
              for (std::int64_t i = 0; i < fast.numel(); ++i)
                ASSERT_FLOAT_EQ(fast.ptr<float>()[i], ref.ptr<float>()[i]) << i;
            }
            ++checked;
          }
  EXPECT_EQ(checked, 72);
}

TEST(Preprocess, MismatchedTensorOrIndexThrows) {
  const ModelCard c = card(DType::kU8, TensorLayout::kNHWC, 8, 8);
  Tensor t = make_batch_tensor(c, 2);
  const cv::Mat img = pattern(8, 8);
  EXPECT_THROW(preprocess_into(img, c, t, 2), Error);
  EXPECT_THROW(preprocess_into(img, c, t, -1), Error);
  Tensor wrong = make_batch_tensor(card(DType::kF32, TensorLayout::kNHWC, 8, 8), 2);
  EXPECT_THROW(preprocess_into(img, c, wrong, 0), Error);
  Tensor nchw = make_batch_tensor(card(DType::kU8, TensorLayout::kNCHW, 8, 8), 2);
  EXPECT_THROW(preprocess_into(img, c, nchw, 0), Error);
  EXPECT_THROW(preprocess_into(cv::Mat(), c, t, 0), Error);
}

}  // namespace
}  // namespace pm
