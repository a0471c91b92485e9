// Runs each ONNX backend node test case (model.onnx + test_data_set_*/input_N.pb ->
// output_N.pb) on the engine, in the default (oneDNN) mode and in reference mode.
// A case is skipped, with the reason printed, when its op is not supported, its opset is
// outside 11..18, or it is listed in known_skips.txt (with the reason there). Every other
// case must match the expected outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "onnx/tensor_proto.h"
#include "pixelmill/engine.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"
#include "skip_or_fail.h"

namespace pm::engine {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> known_skips() {
  std::map<std::string, std::string> m;
  std::ifstream f(PM_ONNX_NODE_SKIPS);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.find(' ');
    m[line.substr(0, sp)] = sp == std::string::npos ? "listed" : line.substr(sp + 1);
  }
  return m;
}

std::vector<std::string> cases() {
  std::vector<std::string> v;
  if (!fs::exists(PM_ONNX_NODE_DIR)) return v;
  for (const auto& e : fs::directory_iterator(PM_ONNX_NODE_DIR))
    if (fs::exists(e.path() / "model.onnx")) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// Why a case cannot run on the engine, or "" when it should.
std::string skip_reason(const std::string& dir, const std::string& name) {
  static const auto skips = known_skips();
  if (auto it = skips.find(name); it != skips.end()) return it->second;
  onnx::ModelProto m;
  std::ifstream f(dir + "/model.onnx", std::ios::binary);
  if (!m.ParseFromIstream(&f)) return "model.onnx does not parse";
  int opset = 0;
  for (const auto& op : m.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = static_cast<int>(op.version());
  static const auto supported = [] {
    auto v = engine_supported_ops();
    return std::set<std::string>(v.begin(), v.end());
  }();
  for (const auto& n : m.graph().node()) {
    if (!n.domain().empty() && n.domain() != "ai.onnx") return "op domain '" + n.domain() + "' not supported";
    if (!supported.count(n.op_type())) return "op " + n.op_type() + " not supported";
  }
  if (opset < 11 || opset > 18) return "opset " + std::to_string(opset) + " outside 11..18";
  return "";
}

std::vector<std::string> pb_files(const fs::path& set_dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> v;
  for (const auto& e : fs::directory_iterator(set_dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > 3 && f.substr(f.size() - 3) == ".pb")
      v.emplace_back(std::stoi(f.substr(prefix.size())), e.path().string());
  }
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (auto& p : v) out.push_back(p.second);
  return out;
}

// Returns "" when `got` matches `want` (rtol 1e-3, atol 1e-5; NaN matches NaN).
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype()) return "dtype " + dtype_name(got.dtype()) + " != " + dtype_name(want.dtype());
  if (got.shape() != want.shape()) return "shape " + dims_str(got.shape()) + " != " + dims_str(want.shape());
  if (got.dtype() == DType::kF32 || got.dtype() == DType::kF64) {
    for (std::int64_t i = 0; i < got.numel(); ++i) {
      const double a = got.dtype() == DType::kF32 ? got.ptr<float>()[i] : got.ptr<double>()[i];
      const double b = want.dtype() == DType::kF32 ? want.ptr<float>()[i] : want.ptr<double>()[i];
      if (std::isnan(a) && std::isnan(b)) continue;
      if (std::isinf(b) && a == b) continue;
      if (!(std::fabs(a - b) <= 1e-5 + 1e-3 * std::fabs(b)))
        return "element " + std::to_string(i) + ": " + std::to_string(a) + " != " + std::to_string(b);
    }
    return "";
  }
  if (std::memcmp(got.data(), want.data(), got.nbytes()) != 0) return "values differ";
  return "";
}

class OnnxNode : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNode, Matches) {
  const std::string name = GetParam();
  const std::string dir = std::string(PM_ONNX_NODE_DIR) + "/" + name;
  const std::string why = skip_reason(dir, name);
  if (!why.empty()) GTEST_SKIP() << why;
  for (bool reference : {false, true}) {
    EngineOptions opts;
    opts.reference = reference;
    const char* mode = reference ? "reference" : "default";
    std::shared_ptr<const Model> model;
    try {
      model = Model::load(dir + "/model.onnx", opts);
    } catch (const Error& e) {
      FAIL() << mode << ": load failed: " << e.what();
    }
    Session session(model);
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_directory() || e.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
      std::vector<Tensor> inputs;
      for (const auto& f : pb_files(e.path(), "input_")) inputs.push_back(read_tensor_file(f));
      auto wants = pb_files(e.path(), "output_");
      std::vector<Tensor> got;
      try {
        got = session.run(inputs);
      } catch (const Error& err) {
        FAIL() << mode << ": run failed: " << err.what();
      }
      ASSERT_EQ(got.size(), wants.size()) << mode;
      for (std::size_t i = 0; i < wants.size(); ++i) {
        const std::string diff = compare(got[i], read_tensor_file(wants[i]));
        EXPECT_EQ(diff, "") << mode << " output " << i << " of " << e.path().filename();
      }
    }
  }
}

// Without Debian's libonnx-testdata the parameterised suite has zero cases and would pass
// having run nothing; this test makes that visible (a failure under CI=true).
TEST(OnnxNodeSuite, RunsTheBackendCases) {
  const auto all = cases();
  if (all.empty())
    PM_SKIP_OR_FAIL("libonnx-testdata is not installed: no cases under " PM_ONNX_NODE_DIR
                    " (scripts/deps/engine.txt)");
  std::size_t runnable = 0;
  for (const auto& name : all)
    if (skip_reason(std::string(PM_ONNX_NODE_DIR) + "/" + name, name).empty()) ++runnable;
  std::printf("onnx node tests: %zu of %zu cases run on the engine\n", runnable, all.size());
  // 403 run with Debian 12's data; fewer means an op, a loader or the data regressed.
  EXPECT_GE(runnable, 400u);
}

INSTANTIATE_TEST_SUITE_P(Backend, OnnxNode, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNode);

}  // namespace
}  // namespace pm::engine
