// The detector section of model cards: the three shipped cards parse as their models need,
// and a card that contradicts its head is refused naming the field.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "pixelmill/error.h"
#include "pixelmill/model_card.h"

namespace pm {
namespace {

using nlohmann::json;

std::string card_path(const std::string& name) { return std::string(PM_SOURCE_DIR) + "/models/" + name + ".json"; }

TEST(DetectorCard, ShippedCardsParse) {
  const ModelCard y = load_model_card(card_path("yolox_glyph_det"));
  ASSERT_TRUE(y.detector);
  EXPECT_EQ(y.detector->head, DetectorHead::kYolox);
  EXPECT_EQ(y.letterbox_align, LetterboxAlign::kTopLeft);
  EXPECT_EQ(y.pad_value, 114);
  EXPECT_EQ(y.embedding.dim, 0);
  const ModelCard p = load_model_card(card_path("picodet_layout_cdla"));
  ASSERT_TRUE(p.detector);
  EXPECT_EQ(p.detector->head, DetectorHead::kGfl);
  EXPECT_EQ(p.detector->outputs.size(), 8u);
  EXPECT_EQ(p.detector->classes.size(), 10u);
  EXPECT_EQ(p.detector->reg_max, 7);
  const ModelCard c = load_model_card(card_path("centerface"));
  ASSERT_TRUE(c.detector);
  EXPECT_EQ(c.detector->head, DetectorHead::kCenterNet);
  EXPECT_EQ(c.detector->strides, std::vector<int>{4});
  EXPECT_FLOAT_EQ(c.detector->score_threshold, 0.2f);
  EXPECT_FALSE(load_model_card(card_path("sscd_distilled")).detector);
}

std::string error_of(const json& j) {
  try {
    parse_model_card(j.dump(), "x.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DetectorCard, ContradictionsAreRefusedNamingTheField) {
  std::ifstream f(card_path("picodet_layout_cdla"));
  const json good = json::parse(f);
  EXPECT_EQ(error_of(good), "");
  const auto expect = [&](json j, const std::string& what) {
    const std::string msg = error_of(j);
    EXPECT_NE(msg.find(what), std::string::npos) << "got: " << msg;
  };
  json j = good;
  j["detector"]["outputs"].erase(0);
  expect(j, "detector.outputs");
  j = good;
  j["detector"]["head"] = "ssd";
  expect(j, "detector.head");
  j = good;
  j["detector"]["strides"] = json::array({8, 0});
  expect(j, "detector.strides");
  j = good;
  j["detector"]["classes"] = json::array();
  expect(j, "detector.classes");
  j = good;
  j["detector"]["nms_iou"] = 1.5;
  expect(j, "detector.nms_iou");
  j = good;
  j["letterbox_align"] = "bottom";
  expect(j, "letterbox_align");
  j = good;
  j["embedding"] = {{"output", "e"}, {"dim", 4}, {"normalize", "l2"}};
  expect(j, "not both");
  j = good;
  j.erase("detector");
  expect(j, "embedding");  // neither: an embedding card without its section
}

}  // namespace
}  // namespace pm
