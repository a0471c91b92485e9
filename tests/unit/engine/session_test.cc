// Session::plan_report: what the plan of the most recent run() chose, per node and for the
// batch split, read from the engine rather than from its verbose log.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "pixelmill/engine.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {
namespace {

class PlanReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pm_session_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = write_tiny_embed(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Tensor input(std::int64_t batch) {
    Tensor t(DType::kF32, {batch, 3, 64, 64});
    for (std::int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = static_cast<float>(i % 17) / 17.f - 0.5f;
    return t;
  }
  static std::string describe(const PlanReport& r) {
    std::string s;
    for (const auto& k : r.kernels) s += k.op + " '" + k.node + "' -> " + k.implementation + "\n";
    return s;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(PlanReportTest, ThrowsBeforeAnyRun) {
  Session s(Model::load(path_));
  EXPECT_THROW(s.plan_report(), Error);
}

TEST_F(PlanReportTest, ReferenceModeReportsTheReferenceKernelForEveryNode) {
  EngineOptions opts;
  opts.reference = true;
  Session s(Model::load(path_, opts));
  s.run({input(2)});
  const PlanReport r = s.plan_report();
  int ref = 0;
  for (const auto& k : r.kernels) {
    EXPECT_FALSE(k.node.empty());
    EXPECT_FALSE(k.op.empty());
    if (k.backend == KernelBackend::kView) {
      EXPECT_EQ(k.implementation, "view") << k.node;
      continue;
    }
    EXPECT_EQ(k.backend, KernelBackend::kReference) << k.node;
    EXPECT_EQ(k.implementation, "ref") << k.node;
    EXPECT_EQ(k.why, "reference mode") << k.node;
    ++ref;
  }
  EXPECT_GT(ref, 0) << describe(r);
}

TEST_F(PlanReportTest, DefaultSessionRunsTheConvolutionsOnOneDnn) {
  Session s(Model::load(path_));
  s.run({input(2)});
  const PlanReport r = s.plan_report();
  int convs = 0;
  for (const auto& k : r.kernels) {
    if (k.backend != KernelBackend::kReference) {
      EXPECT_TRUE(k.why.empty()) << k.node << ": " << k.why;
    }
    if (k.op != "Conv" && k.op != "pm.FusedConv") continue;
    ++convs;
    EXPECT_EQ(k.backend, KernelBackend::kOneDnn) << k.node << ": " << k.why;
    EXPECT_FALSE(k.implementation.empty()) << k.node;
    EXPECT_NE(k.implementation, "ref") << k.node;
  }
  EXPECT_EQ(convs, 4) << describe(r);  // tiny_embed's four convolutions, BatchNorm folded in
}

TEST_F(PlanReportTest, DescribesTheMostRecentRunThatReturned) {
  EngineOptions opts;
  opts.micro_batch = 2;
  Session s(Model::load(path_, opts));
  s.run({input(5)});
  PlanReport r = s.plan_report();
  EXPECT_EQ(r.chunk_rows, 2) << r.split_why;
  EXPECT_GE(r.workers, 1);
  EXPECT_LE(r.workers, 3);  // three chunks at most
  EXPECT_NE(r.split_why.find("micro-batch 2 asked for"), std::string::npos) << r.split_why;
  EXPECT_FALSE(r.kernels.empty());

  s.run({input(1)});  // one row: nothing to split
  r = s.plan_report();
  EXPECT_EQ(r.chunk_rows, 0);
  EXPECT_EQ(r.workers, 1);
  EXPECT_FALSE(r.kernels.empty());

  // A run that throws leaves the report of the last one that returned.
  EXPECT_THROW(s.run({Tensor(DType::kF32, {2, 3, 32, 32})}), Error);
  EXPECT_EQ(s.plan_report().chunk_rows, 0);
  s.run({input(5)});
  EXPECT_EQ(s.plan_report().chunk_rows, 2);
}

TEST_F(PlanReportTest, MicroBatchingOffRunsWhole) {
  EngineOptions opts;
  opts.micro_batch = -1;
  Session s(Model::load(path_, opts));
  s.run({input(4)});
  const PlanReport r = s.plan_report();
  EXPECT_EQ(r.chunk_rows, 0);
  EXPECT_EQ(r.workers, 1);
}

}  // namespace
}  // namespace pm::engine
