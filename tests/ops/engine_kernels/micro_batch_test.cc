// Micro-batching (exec/micro_batch): a row-local graph run in chunks gives the rows the
// whole batch gives; graphs that mix rows are never split.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "exec/micro_batch.h"
#include "graph_builder.h"
#include "model_impl.h"
#include "pixelmill/engine.h"
#include "tensor_compare.h"

namespace pm::engine::test {
namespace {

using GB = GraphBuilder;
using pm::test::max_rel_diff;

RowProfile profile_of(const std::string& path, const Dims& x) {
  auto m = std::dynamic_pointer_cast<const ModelImpl>(Model::load(path));
  return profile_rows(m->graph, {{m->inputs()[0].name, x}});
}

TEST(MicroBatch, ChunkedRowsEqualTheWholeBatch) {
  GB b = inverted_residual(16, 20);
  const std::string path = b.save("micro_ir");
  const Tensor x = random_input({7, 16, 20, 20}, 7);
  const RowProfile p = profile_of(path, x.shape());
  ASSERT_TRUE(p.row_local) << p.why;
  EXPECT_GT(p.macs_per_row, 0);
  EXPECT_EQ(p.max_value_bytes_per_row, 64 * 20 * 20 * 4);  // the expanded activation

  EngineOptions whole, chunked, ref;
  whole.micro_batch = -1;
  chunked.micro_batch = 3;  // 7 rows: chunks of 3, 2, 2
  ref.reference = true;
  ref.micro_batch = -1;
  auto want = Session(Model::load(path, ref)).run({x});
  Session whole_session(Model::load(path, whole));
  auto all = whole_session.run({x});
  EXPECT_EQ(whole_session.plan_report().chunk_rows, 0);
  Session s(Model::load(path, chunked));
  auto got = s.run({x});
  const PlanReport report = s.plan_report();
  EXPECT_EQ(report.chunk_rows, 3) << report.split_why;
  EXPECT_FALSE(report.kernels.empty());
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), all[i].shape());
    EXPECT_EQ(got[i].shape()[0], 7);
    EXPECT_LT(max_rel_diff(got[i], all[i]), 1e-5f) << "output " << i;
    EXPECT_LT(max_rel_diff(got[i], want[i]), 1e-4f) << "output " << i;
  }
  std::remove(path.c_str());
}

TEST(MicroBatch, ChunksOnTwoWorkersEqualTheWholeBatch) {
  GB b = inverted_residual(16, 20);
  const std::string path = b.save("micro_ir_w2");
  const Tensor x = random_input({9, 16, 20, 20}, 8);
  EngineOptions whole, chunked;
  whole.micro_batch = -1;
  whole.threads = 2;
  chunked.micro_batch = 2;  // 9 rows: 5 chunks over 2 workers
  chunked.threads = 2;
  auto all = Session(Model::load(path, whole)).run({x});
  Session s(Model::load(path, chunked));
  auto got = s.run({x});
  const PlanReport first = s.plan_report();
  EXPECT_EQ(first.chunk_rows, 2) << first.split_why;
  EXPECT_EQ(first.workers, 2) << first.split_why;
  auto again = s.run({x});  // the workers' cached plans
  const PlanReport second = s.plan_report();
  EXPECT_EQ(second.chunk_rows, 2);
  EXPECT_EQ(second.workers, 2);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), all[i].shape());
    EXPECT_LT(max_rel_diff(got[i], all[i]), 1e-5f) << "output " << i;
    EXPECT_EQ(0, std::memcmp(got[i].data(), again[i].data(), got[i].nbytes())) << "output " << i;
  }
  std::remove(path.c_str());
}

TEST(MicroBatch, GraphsThatMixRowsAreNotSplit) {
  struct Case {
    std::string name;
    void (*build)(GB&);
  };
  const Case cases[] = {
      {"softmax_over_batch",
       [](GB& b) {
         auto& n = b.node("Softmax", {"x"}, {"y"});
         GB::i(n, "axis", 0);
       }},
      {"legacy_softmax_whole_tensor",
       [](GB& b) {
         auto& n = b.node("Softmax", {"x"}, {"y"});
         GB::i(n, "axis", 0);
       }},
      {"mean_over_batch",
       [](GB& b) {
         auto& r = b.node("ReduceMean", {"x"}, {"m"});
         GB::ints(r, "axes", {0});
         b.node("Sub", {"x", "m"}, {"y"});
       }},
      {"transpose_batch_away",
       [](GB& b) {
         auto& t = b.node("Transpose", {"x"}, {"t"});
         GB::ints(t, "perm", {1, 0});
         auto& t2 = b.node("Transpose", {"t"}, {"y"});
         GB::ints(t2, "perm", {1, 0});
       }},
      {"gather_rows_by_data",
       [](GB& b) {
         auto& a = b.node("ArgMax", {"x"}, {"i"});
         GB::i(a, "axis", 1);
         GB::i(a, "keepdims", 0);
         b.node("Gather", {"x", "i"}, {"y"});
       }},
      {"flatten_whole_batch",
       [](GB& b) {
         auto& f = b.node("Flatten", {"x"}, {"f"});
         GB::i(f, "axis", 0);
         b.node("Relu", {"f"}, {"y"});
       }},
  };
  int k = 0;
  for (const auto& c : cases) {
    GB b(c.name == "legacy_softmax_whole_tensor" ? 11 : 17);
    b.input("x", {-1, 5}, true);
    c.build(b);
    b.output("y");
    const std::string path = b.save("mix" + std::to_string(k++));
    const Tensor x = random_input({6, 5}, 9);
    const RowProfile p = profile_of(path, x.shape());
    EXPECT_FALSE(p.row_local) << c.name;
    EXPECT_FALSE(p.why.empty()) << c.name;
    // Asked for chunks of one row, the engine still runs the whole batch.
    EngineOptions one, ref;
    one.micro_batch = 1;
    ref.reference = true;
    ref.micro_batch = -1;
    Session s(Model::load(path, one));
    auto got = s.run({x});
    EXPECT_EQ(s.plan_report().chunk_rows, 0) << c.name;
    EXPECT_NE(s.plan_report().split_why.find("not row-local"), std::string::npos) << c.name;
    auto want = Session(Model::load(path, ref)).run({x});
    ASSERT_EQ(got[0].shape(), want[0].shape()) << c.name;
    EXPECT_LT(max_rel_diff(got[0], want[0]), 1e-5f) << c.name;
    std::remove(path.c_str());
  }
}

TEST(MicroBatch, ChunkChoice) {
  RowProfile p;
  p.row_local = true;
  p.macs_per_row = 300'000'000;
  p.act_bytes_per_row = 50'000'000;  // 6 MACs per byte: memory-bound
  p.max_value_bytes_per_row = 4 << 20;
  EngineOptions auto_opts;
  EXPECT_EQ(choose_batch_split(p, 16, auto_opts, 32 << 20).rows, 4);  // 32 MiB / (2 x 4 MiB)
  EXPECT_EQ(choose_batch_split(p, 16, auto_opts, 32 << 20).workers, 1);
  EXPECT_EQ(choose_batch_split(p, 16, auto_opts, 32 << 20, 2).workers, 2);
  EXPECT_EQ(choose_batch_split(p, 6, auto_opts, 32 << 20, 4).workers, 2);  // two chunks, two workers
  EXPECT_EQ(choose_batch_split(p, 4, auto_opts, 32 << 20).rows, 0);   // the whole batch fits
  EXPECT_EQ(choose_batch_split(p, 16, auto_opts, 1 << 20).rows, 1);   // at least one row
  EngineOptions fixed;
  fixed.micro_batch = 5;
  EXPECT_EQ(choose_batch_split(p, 16, fixed, 32 << 20).rows, 5);
  EngineOptions off;
  off.micro_batch = -1;
  EXPECT_EQ(choose_batch_split(p, 16, off, 32 << 20).rows, 0);
  p.macs_per_row = 4'000'000'000;  // 80 MACs per byte: compute-bound, never split by itself
  EXPECT_EQ(choose_batch_split(p, 16, auto_opts, 32 << 20).rows, 0);
  EXPECT_EQ(choose_batch_split(p, 16, fixed, 32 << 20).rows, 5);
  p.row_local = false;
  EXPECT_EQ(choose_batch_split(p, 16, fixed, 32 << 20).rows, 0);
}

}  // namespace
}  // namespace pm::engine::test
