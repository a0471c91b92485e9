// --precision against a card and the CPU (pixelmill/model_precision.h): every branch of
// the decision, on cards built in memory and every CPU there is.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "pixelmill/model_precision.h"
#include "test_cards.h"

namespace pm {
namespace {

using nlohmann::json;

json card_json() { return test_cards::tiny_card("net"); }
json int8_json() { return test_cards::int8_card("net"); }

ModelCard card(bool bf16_allowed, bool sibling) {
  json j = card_json();
  if (bf16_allowed) j["precisions"] = json::array({"fp32", "bf16"});
  if (sibling) j["quantized"] = "net.int8.json";
  return parse_model_card(j.dump(), "models/net.json");
}

ModelCard int8_card() { return parse_model_card(int8_json().dump(), "models/net.int8.json"); }

constexpr CpuCapabilities kBare{false, false};
constexpr CpuCapabilities kBf16Only{true, false};
constexpr CpuCapabilities kVnniOnly{false, true};
constexpr CpuCapabilities kBoth{true, true};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string error_of(const ModelCard& c, PrecisionRequest r, CpuCapabilities cpu, IfNoInt8 n) {
  try {
    choose_precision(c, r, cpu, n);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelPrecision, ParsesRequestsByName) {
  for (const char* name : {"auto", "fp32", "bf16", "int8"})
    EXPECT_EQ(precision_request_name(parse_precision_request(name)), name);
  try {
    parse_precision_request("fp16");
    FAIL() << "fp16 accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "'fp16'")) << e.what();
    EXPECT_TRUE(has(e.what(), "auto, fp32, bf16 or int8")) << e.what();
  }
  EXPECT_EQ(run_precision_name(RunPrecision::kInt8), "int8");
}

TEST(ModelPrecision, AutoTakesTheSiblingWhereTheCpuHasVnni) {
  for (const CpuCapabilities cpu : {kVnniOnly, kBoth}) {
    const PrecisionChoice c = choose_precision(card(true, true), PrecisionRequest::kAuto, cpu, IfNoInt8::kRefuse);
    EXPECT_EQ(c.precision, RunPrecision::kInt8);
    EXPECT_TRUE(c.sibling);
    EXPECT_EQ(c.reason, "auto: quantized sibling net.int8.json, CPU has VNNI");
    EXPECT_EQ(c.note, "");
    // Timing against bf16 only where the card allows bf16 and the CPU has it.
    EXPECT_EQ(c.measure_bf16, cpu.bf16);
  }
  EXPECT_FALSE(choose_precision(card(false, true), PrecisionRequest::kAuto, kBoth, IfNoInt8::kRefuse).measure_bf16);
  // Never for an explicit precision.
  for (const PrecisionRequest r : {PrecisionRequest::kInt8, PrecisionRequest::kBf16, PrecisionRequest::kFp32})
    EXPECT_FALSE(choose_precision(card(true, true), r, kBoth, IfNoInt8::kRefuse).measure_bf16);
}

TEST(ModelPrecision, AutoWithoutVnniTakesBf16WhereAllowedAndPresent) {
  const PrecisionChoice c = choose_precision(card(true, true), PrecisionRequest::kAuto, kBf16Only, IfNoInt8::kRefuse);
  EXPECT_EQ(c.precision, RunPrecision::kBf16);
  EXPECT_FALSE(c.sibling);
  EXPECT_TRUE(has(c.reason, "the card allows bf16, CPU has AVX512_BF16/AMX")) << c.reason;
  EXPECT_TRUE(has(c.reason, "net.int8.json unused: the CPU has no VNNI")) << c.reason;
  const PrecisionChoice d = choose_precision(card(true, false), PrecisionRequest::kAuto, kBoth, IfNoInt8::kRefuse);
  EXPECT_EQ(d.precision, RunPrecision::kBf16);
  EXPECT_EQ(d.reason, "auto: the card allows bf16, CPU has AVX512_BF16/AMX");
}

TEST(ModelPrecision, AutoFallsToFp32AndSaysWhy) {
  struct Case {
    bool bf16_allowed, sibling;
    CpuCapabilities cpu;
    const char* reason;
  } cases[] = {
      {false, false, kBoth, "auto: no quantized sibling; the card does not allow bf16"},
      {true, false, kVnniOnly, "auto: no quantized sibling; the card allows bf16 but the CPU has no AVX512_BF16/AMX"},
      {false, true, kBf16Only,
       "auto: quantized sibling net.int8.json unused: the CPU has no VNNI; the card does not allow bf16"},
      {true, true, kBare,
       "auto: quantized sibling net.int8.json unused: the CPU has no VNNI; the card allows bf16 but the "
       "CPU has no AVX512_BF16/AMX"},
  };
  for (const Case& k : cases) {
    const PrecisionChoice c = choose_precision(card(k.bf16_allowed, k.sibling), PrecisionRequest::kAuto, k.cpu,
                                               IfNoInt8::kRefuse);
    EXPECT_EQ(c.precision, RunPrecision::kFp32) << k.reason;
    EXPECT_FALSE(c.sibling);
    EXPECT_EQ(c.reason, k.reason);
    EXPECT_EQ(c.note, "");  // nothing was asked for that did not run
  }
}

TEST(ModelPrecision, Fp32IsTheCardsOwnFile) {
  for (const CpuCapabilities cpu : {kBare, kBoth}) {
    const PrecisionChoice c = choose_precision(card(true, true), PrecisionRequest::kFp32, cpu, IfNoInt8::kRefuse);
    EXPECT_EQ(c.precision, RunPrecision::kFp32);
    EXPECT_FALSE(c.sibling);
    EXPECT_EQ(c.reason, "--precision fp32");
  }
}

TEST(ModelPrecision, Bf16IsAsBf16WasAndFp32WithoutIt) {
  // Whatever the card lists, as --bf16 always did.
  const PrecisionChoice c = choose_precision(card(false, true), PrecisionRequest::kBf16, kBf16Only, IfNoInt8::kRefuse);
  EXPECT_EQ(c.precision, RunPrecision::kBf16);
  EXPECT_FALSE(c.sibling);
  EXPECT_EQ(c.note, "");
  const PrecisionChoice d = choose_precision(card(true, false), PrecisionRequest::kBf16, kVnniOnly, IfNoInt8::kRefuse);
  EXPECT_EQ(d.precision, RunPrecision::kFp32);
  EXPECT_TRUE(has(d.reason, "no AVX512_BF16/AMX")) << d.reason;
  EXPECT_TRUE(has(d.note, "models/net.json runs in fp32")) << d.note;
}

TEST(ModelPrecision, Int8TakesTheSiblingWithOrWithoutVnni) {
  const PrecisionChoice c = choose_precision(card(false, true), PrecisionRequest::kInt8, kVnniOnly, IfNoInt8::kRefuse);
  EXPECT_EQ(c.precision, RunPrecision::kInt8);
  EXPECT_TRUE(c.sibling);
  EXPECT_EQ(c.reason, "--precision int8: quantized sibling net.int8.json, CPU has VNNI");
  EXPECT_EQ(c.note, "");
  const PrecisionChoice d = choose_precision(card(false, true), PrecisionRequest::kInt8, kBf16Only, IfNoInt8::kRefuse);
  EXPECT_EQ(d.precision, RunPrecision::kInt8);
  EXPECT_TRUE(d.sibling);
  EXPECT_TRUE(has(d.reason, "no VNNI")) << d.reason;
  EXPECT_TRUE(has(d.note, "no VNNI")) << d.note;
  EXPECT_TRUE(has(d.note, "net.int8.json")) << d.note;
}

TEST(ModelPrecision, Int8WithoutASiblingIsRefusedOrFallsBack) {
  const std::string e = error_of(card(true, false), PrecisionRequest::kInt8, kBoth, IfNoInt8::kRefuse);
  EXPECT_TRUE(has(e, "models/net.json")) << e;
  EXPECT_TRUE(has(e, "pixelmill model quantize")) << e;
  // A detector or crop model beside an int8 embedding model runs fp32, and says so.
  const PrecisionChoice c = choose_precision(card(true, false), PrecisionRequest::kInt8, kBoth, IfNoInt8::kFallBack);
  EXPECT_EQ(c.precision, RunPrecision::kFp32);
  EXPECT_FALSE(c.sibling);
  EXPECT_TRUE(has(c.note, "models/net.json has no quantized sibling")) << c.note;
}

TEST(ModelPrecision, AnInt8CardRunsInt8Only) {
  for (const PrecisionRequest r : {PrecisionRequest::kAuto, PrecisionRequest::kInt8}) {
    const PrecisionChoice c = choose_precision(int8_card(), r, kVnniOnly, IfNoInt8::kRefuse);
    EXPECT_EQ(c.precision, RunPrecision::kInt8);
    EXPECT_FALSE(c.sibling);  // its own file is the QDQ file
    EXPECT_TRUE(has(c.reason, "an int8 card, CPU has VNNI")) << c.reason;
    EXPECT_EQ(c.note, "");
    const PrecisionChoice d = choose_precision(int8_card(), r, kBf16Only, IfNoInt8::kFallBack);
    EXPECT_EQ(d.precision, RunPrecision::kInt8);
    EXPECT_TRUE(has(d.note, "no VNNI")) << d.note;
  }
  for (const PrecisionRequest r : {PrecisionRequest::kFp32, PrecisionRequest::kBf16}) {
    for (const IfNoInt8 n : {IfNoInt8::kRefuse, IfNoInt8::kFallBack}) {
      const std::string e = error_of(int8_card(), r, kBoth, n);
      EXPECT_TRUE(has(e, "models/net.int8.json is an int8 card")) << e;
      EXPECT_TRUE(has(e, "give the fp32 model's card")) << e;
      EXPECT_TRUE(has(e, "net.onnx")) << e;
    }
  }
}

// resolve_model_precision: the model as the user names it, and the sibling's files.
TEST(ModelPrecision, ResolveRunsTheSiblingsFile) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "pm_model_precision";
  auto files = test_cards::write_sibling_pair(dir, "net");
  json& int8 = files.int8;

  const ResolvedModel a = resolve_model_precision((dir / "net.onnx").string(), PrecisionRequest::kAuto, kVnniOnly,
                                                  IfNoInt8::kRefuse);
  EXPECT_EQ(a.choice.precision, RunPrecision::kInt8);
  EXPECT_EQ(a.files.onnx, (dir / "net.int8.onnx").string());
  EXPECT_EQ(a.files.card.sha256, sha256_hex("int8 weights"));
  EXPECT_EQ(a.given_card, (dir / "net.json").string());
  const ResolvedModel f = resolve_model_precision((dir / "net.json").string(), PrecisionRequest::kFp32, kVnniOnly,
                                                  IfNoInt8::kRefuse);
  EXPECT_EQ(f.choice.precision, RunPrecision::kFp32);
  EXPECT_EQ(f.files.onnx, (dir / "net.onnx").string());
  // The int8 card given directly runs its own file.
  const ResolvedModel d = resolve_model_precision((dir / "net.int8.json").string(), PrecisionRequest::kAuto, kBare,
                                                  IfNoInt8::kRefuse);
  EXPECT_EQ(d.choice.precision, RunPrecision::kInt8);
  EXPECT_EQ(d.files.onnx, (dir / "net.int8.onnx").string());
  // A stale sibling is refused when it would run, and not in the way when it would not.
  int8["quantization"]["from"]["sha256"] = std::string(64, 'b');
  std::ofstream(dir / "net.int8.json") << int8.dump();
  EXPECT_THROW(resolve_model_precision((dir / "net.onnx").string(), PrecisionRequest::kAuto, kVnniOnly,
                                       IfNoInt8::kRefuse),
               Error);
  EXPECT_EQ(resolve_model_precision((dir / "net.onnx").string(), PrecisionRequest::kAuto, kBare, IfNoInt8::kRefuse)
                .files.onnx,
            (dir / "net.onnx").string());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pm
