// Head decoders on hand-made outputs (one live cell each, with the box worked out on
// paper from detector_spec.h), NMS, and the map from network input back to the image.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "pixelmill/detect.h"
#include "pixelmill/error.h"
#include "pixelmill/model_card.h"

namespace pm {
namespace {

void expect_box(const Detection& d, std::array<float, 4> want, float tol = 1e-4f) {
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d.box[i], want[i], tol) << "coordinate " << i;
}

TEST(DecodeHead, YoloxCellOnTheSecondLevel) {
  DetectorSpec spec;
  spec.head = DetectorHead::kYolox;
  spec.outputs = {"out"};
  spec.strides = {8, 16};
  spec.classes = {"a", "b"};
  // 32x64 input: level 8 is 4x8 = 32 cells, level 16 is 2x4 = 8 cells.
  Tensor out(DType::kF32, {2, 40, 7});
  float* row1 = out.ptr<float>() + 40 * 7;
  // Row 1, level 16, cell (gx 3, gy 1) = index 32 + 1 * 4 + 3 = 39.
  float* c = row1 + 39 * 7;
  c[0] = 0.5f;            // dx
  c[1] = 0.25f;           // dy
  c[2] = std::log(2.f);   // w = 2 * 16
  c[3] = 0.f;             // h = 16
  c[4] = 0.8f;            // objectness
  c[5] = 0.5f;            // class a: 0.4
  c[6] = 0.25f;           // class b: 0.2
  const auto d = decode_head(spec, {out}, 1, 64, 32, 0.3f);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].cls, 0);
  EXPECT_FLOAT_EQ(d[0].score, 0.4f);
  // centre ((0.5 + 3) * 16, (0.25 + 1) * 16) = (56, 20); size 32 x 16.
  expect_box(d[0], {40.f, 12.f, 72.f, 28.f});
  EXPECT_EQ(decode_head(spec, {out}, 1, 64, 32, 0.1f).size(), 2u);  // both classes
  EXPECT_TRUE(decode_head(spec, {out}, 0, 64, 32, 0.1f).empty());  // row 0 is all zero
}

TEST(DecodeHead, GflExpectationOverBinsAndCeilGrids) {
  DetectorSpec spec;
  spec.head = DetectorHead::kGfl;
  spec.strides = {8, 16};
  spec.outputs = {"s8", "s16", "d8", "d16"};
  spec.classes = {"x", "y", "z"};
  spec.reg_max = 3;  // 4 bins
  // 40x24 input: level 8 is 5x3 = 15 cells; level 16 is ceil: 3x2 = 6 cells.
  Tensor s8(DType::kF32, {1, 15, 3}), s16(DType::kF32, {1, 6, 3});
  Tensor d8(DType::kF32, {1, 15, 16}), d16(DType::kF32, {1, 6, 16});
  // Level 16, cell 5 = (gx 1, gy 2): centre (24, 40).
  s16.ptr<float>()[5 * 3 + 2] = 0.9f;
  float* dist = d16.ptr<float>() + 5 * 16;
  // left: all mass on bin 2 (logit 30 vs 0): 2 * 16 = 32; top: uniform: 1.5 * 16 = 24;
  // right: bin 0: 0; bottom: bins 1 and 3 equal: 2 * 16 = 32.
  dist[0 * 4 + 2] = 30.f;
  dist[2 * 4 + 0] = 30.f;
  dist[3 * 4 + 1] = 30.f;
  dist[3 * 4 + 3] = 30.f;
  const auto d = decode_head(spec, {s8, s16, d8, d16}, 0, 24, 40, 0.5f);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].cls, 2);
  EXPECT_FLOAT_EQ(d[0].score, 0.9f);
  expect_box(d[0], {24.f - 32.f, 40.f - 24.f, 24.f, 40.f + 32.f}, 1e-3f);
}

TEST(DecodeHead, CenterNetOffsetsAndLogSizes) {
  DetectorSpec spec;
  spec.head = DetectorHead::kCenterNet;
  spec.strides = {4};
  spec.outputs = {"heat", "size", "offset"};
  spec.classes = {"face"};
  // 16x32 input: 4x8 cells.
  Tensor heat(DType::kF32, {1, 1, 4, 8}), size(DType::kF32, {1, 2, 4, 8}), off(DType::kF32, {1, 2, 4, 8});
  const int k = 2 * 8 + 5;  // gy 2, gx 5
  heat.ptr<float>()[k] = 0.7f;
  size.ptr<float>()[k] = std::log(3.f);       // height 12
  size.ptr<float>()[32 + k] = std::log(2.f);  // width 8
  off.ptr<float>()[k] = 0.25f;                // y
  off.ptr<float>()[32 + k] = -0.5f;           // x
  const auto d = decode_head(spec, {heat, size, off}, 0, 32, 16, 0.5f);
  ASSERT_EQ(d.size(), 1u);
  // centre ((5 - 0.5 + 0.5) * 4, (2 + 0.25 + 0.5) * 4) = (20, 11).
  expect_box(d[0], {16.f, 5.f, 24.f, 17.f});
}

TEST(DecodeHead, OutputThatDoesNotFitTheCardIsAnError) {
  DetectorSpec spec;
  spec.head = DetectorHead::kYolox;
  spec.outputs = {"output"};
  spec.strides = {8, 16, 32};
  spec.classes = {"target"};
  Tensor out(DType::kF32, {1, 3549, 6});  // right for 416x416
  EXPECT_NO_THROW(decode_head(spec, {out}, 0, 416, 416, 0.5f));
  try {
    decode_head(spec, {out}, 0, 640, 640, 0.5f);
    ADD_FAILURE() << "a 416 head decoded as 640";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output 'output' has shape [1,3549,6], expected [B, 8400, 6]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(decode_head(spec, {out}, 1, 416, 416, 0.5f), Error);  // no row 1
  EXPECT_THROW(decode_head(spec, {}, 0, 416, 416, 0.5f), Error);     // no output
}

Detection det(float x0, float y0, float x1, float y1, float score, int cls) {
  return {{x0, y0, x1, y1}, score, cls};
}

TEST(Nms, SuppressesWithinAClassOnly) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<Detection> c{det(0, 0, 10, 10, 0.5f, 0),  det(1, 0, 11, 10, 0.9f, 0),  // IoU 9/11
                           det(1, 0, 11, 10, 0.8f, 1),  det(20, 20, 30, 30, 0.4f, 0),
                           det(0, 0, 0, 10, 0.99f, 0),  det(0, 0, nan, 5, 0.99f, 0),
                           det(0, 0, 5, 5, nan, 0)};
  const auto k = nms(c, 0.5f, 10);
  ASSERT_EQ(k.size(), 3u);
  EXPECT_FLOAT_EQ(k[0].score, 0.9f);
  EXPECT_EQ(k[1].cls, 1);  // another class is never suppressed
  EXPECT_FLOAT_EQ(k[2].score, 0.4f);
  EXPECT_EQ(nms(c, 0.9f, 10).size(), 4u);  // 9/11 = 0.818 is not above 0.9
  EXPECT_EQ(nms(c, 0.5f, 2).size(), 2u);
}

TEST(Nms, TiesAreOrderedByClassThenBox) {
  const auto k = nms({det(5, 0, 6, 1, 0.5f, 1), det(3, 0, 4, 1, 0.5f, 1), det(9, 0, 10, 1, 0.5f, 0)}, 0.5f, 10);
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k[0].box[0], 9.f);
  EXPECT_EQ(k[1].box[0], 3.f);
  EXPECT_EQ(k[2].box[0], 5.f);
  EXPECT_FLOAT_EQ(box_iou({0, 0, 2, 2}, {1, 1, 3, 3}), 1.f / 7.f);
  EXPECT_EQ(box_iou({0, 0, 1, 1}, {1, 0, 2, 1}), 0.f);
}

ModelCard card_of(ResizePolicy r, LetterboxAlign a, int w, int h) {
  ModelCard c;
  c.input.width = w;
  c.input.height = h;
  c.resize = r;
  c.letterbox_align = a;
  return c;
}

TEST(BoxesToImage, InvertsEachResizePolicy) {
  // A 200x100 image in a 64x64 input: letterbox scale 0.32 -> 64x32, top-left or centred
  // (offset y 16); squash scales x by 0.32 and y by 0.64.
  const auto tl = input_mapping(200, 100, card_of(ResizePolicy::kLetterbox, LetterboxAlign::kTopLeft, 64, 64));
  EXPECT_DOUBLE_EQ(tl.scale_x, 0.32);
  EXPECT_DOUBLE_EQ(tl.offset_y, 0.0);
  const auto cc = input_mapping(200, 100, card_of(ResizePolicy::kLetterbox, LetterboxAlign::kCenter, 64, 64));
  EXPECT_DOUBLE_EQ(cc.offset_y, 16.0);
  const auto sq = input_mapping(200, 100, card_of(ResizePolicy::kSquash, LetterboxAlign::kCenter, 64, 64));
  EXPECT_DOUBLE_EQ(sq.scale_y, 0.64);

  std::vector<Detection> d{det(16, 24, 32, 40, 0.9f, 0),   // inside the picture
                           det(-8, 40, 8, 60, 0.8f, 0),    // partly in the padding: clipped
                           det(10, 50, 20, 60, 0.7f, 0)};  // all in the bottom padding: dropped
  boxes_to_image(d, cc, 200, 100);
  ASSERT_EQ(d.size(), 2u);
  expect_box(d[0], {50.f, 25.f, 100.f, 75.f});
  expect_box(d[1], {0.f, 75.f, 25.f, 100.f});
  // A centre crop (short_side_crop) maps back with the crop's offset.
  const auto cr = input_mapping(200, 100, card_of(ResizePolicy::kShortSideCrop, LetterboxAlign::kCenter, 50, 50));
  std::vector<Detection> e{det(0, 0, 50, 50, 1.f, 0)};
  boxes_to_image(e, cr, 200, 100);
  ASSERT_EQ(e.size(), 1u);
  expect_box(e[0], {50.f, 0.f, 150.f, 100.f});
}

}  // namespace
}  // namespace pm
