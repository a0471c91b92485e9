// The IVF join at 1-4 ranks (CTest runs this binary at each) against its single-process
// oracles: the trained lists equal train_quantizer_reference bit for bit, the probes equal
// probe_lists_reference, and the pairs equal ivf_pairs_reference (a subset of the exact
// join's pairs, every one of which the exact join keeps).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "block_join.h"
#include "ivf_join.h"
#include "pixelmill/comm.h"
#include "pixelmill/comm_values.h"
#include "synthetic.h"

namespace pm::dedup {
namespace {

const Comm* g_comm = nullptr;

// Rows 0..n-1 (node ids id0 + i): clusters of 3 near-duplicates every 5 rows.
JoinRows make_rows(std::int64_t n, int dim, std::uint32_t seed, std::int64_t id0 = 0) {
  JoinRows r;
  r.dim = dim;
  r.embedding = testing::clustered_embeddings(n, dim, seed, 5, 3, 0.3f);
  for (std::int64_t i = 0; i < n; ++i) r.ids.push_back(id0 + i);
  return r;
}

// Rows [b, e) of `all`.
JoinRows rows_between(const JoinRows& all, std::int64_t b, std::int64_t e) {
  JoinRows r;
  r.dim = all.dim;
  r.ids.assign(all.ids.begin() + b, all.ids.begin() + e);
  r.embedding.assign(all.embedding.begin() + b * all.dim, all.embedding.begin() + e * all.dim);
  return r;
}

// This rank's contiguous share of `all`.
JoinRows share(const JoinRows& all, const Comm& comm) {
  const auto n = static_cast<std::int64_t>(all.ids.size());
  return rows_between(all, n * comm.rank() / comm.size(), n * (comm.rank() + 1) / comm.size());
}

JoinRows concat(const JoinRows& a, const JoinRows& b) {
  JoinRows r = a;
  r.ids.insert(r.ids.end(), b.ids.begin(), b.ids.end());
  r.embedding.insert(r.embedding.end(), b.embedding.begin(), b.embedding.end());
  return r;
}

std::vector<ScoredPair> gather_sorted(const Comm& comm, const std::vector<ScoredPair>& mine) {
  std::vector<std::int64_t> flat;
  std::vector<float> scores;
  for (const ScoredPair& s : mine) {
    flat.insert(flat.end(), {s.a, s.b});
    scores.push_back(s.score);
  }
  const auto ids = allgatherv_values(comm, flat);
  const auto sc = allgatherv_values(comm, scores);
  std::vector<ScoredPair> out;
  for (std::size_t i = 0; i < sc.size(); ++i) out.push_back({ids[2 * i], ids[2 * i + 1], sc[i]});
  std::sort(out.begin(), out.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  return out;
}

TEST(Ivf, ProbesEqualReference) {
  const JoinRows rows = make_rows(300, 24, 3);
  IvfConfig c;
  c.lists = 40;
  c.iterations = 3;
  c.train_per_list = 4;
  const Quantizer q = train_quantizer_reference(rows, c, 300);
  for (int probe : {1, 3, 7}) {
    EXPECT_EQ(probe_lists(q, rows.embedding.data(), 300, probe),
              probe_lists_reference(q, rows.embedding.data(), 300, probe))
        << "probe " << probe;
  }
}

TEST(Ivf, TrainingDoesNotDependOnTheRankCount) {
  const Comm& comm = *g_comm;
  const JoinRows older = make_rows(150, 16, 5);
  JoinRows fresh = make_rows(401, 16, 6, 150);
  // One picture uploaded many times: seeds that are copies of one row, so that all but one
  // of their lists go empty and are reseeded.
  for (std::size_t i = 0; i < 401; i += 2)
    std::copy_n(fresh.embedding.begin(), 16, fresh.embedding.begin() + static_cast<std::ptrdiff_t>(i * 16));
  IvfConfig c;
  c.lists = 50;  // few rows per list: some lists go empty and are reseeded
  c.iterations = 6;
  c.train_per_list = 6;
  const JoinRows my_older = share(older, comm), my_fresh = share(fresh, comm);
  const Quantizer got = train_quantizer(comm, {&my_older, &my_fresh}, c);
  const Quantizer want = train_quantizer_reference(concat(older, fresh), c, 551);
  EXPECT_EQ(got.lists, want.lists);
  EXPECT_EQ(got.sample_rows, want.sample_rows);
  EXPECT_EQ(got.reseeded, want.reseeded);
  EXPECT_EQ(got.centroids, want.centroids);  // bit for bit
  EXPECT_GT(want.reseeded, 0) << "no list went empty: the reseeding is not exercised";
  EXPECT_GT(want.sample_rows, 50);
  EXPECT_LT(want.sample_rows, 551);
}

TEST(Ivf, PairsEqualReferenceAndAreExactPairs) {
  const Comm& comm = *g_comm;
  const int dim = 20;
  const float threshold = 0.8f;
  const JoinRows older = make_rows(260, dim, 8);
  const JoinRows fresh = make_rows(540, dim, 9, 260);
  IvfConfig c;
  c.lists = 24;
  c.iterations = 5;
  c.train_per_list = 16;
  const JoinRows my_older = share(older, comm), my_fresh = share(fresh, comm);
  const Quantizer q = train_quantizer(comm, {&my_older, &my_fresh}, c);
  const JoinRows all = concat(older, fresh);
  JoinConfig jc;
  jc.threshold = threshold;
  jc.tile = 7;  // edge tiles everywhere
  for (const auto& [probe, precision] :
       {std::pair{1, JoinPrecision::kF32}, std::pair{2, JoinPrecision::kF32},
        std::pair{4, JoinPrecision::kF32}, std::pair{2, JoinPrecision::kBF16},
        std::pair{4, JoinPrecision::kBF16}}) {
    jc.precision = precision;
    IvfStats stats;
    const auto got = gather_sorted(comm, ivf_join(comm, q, my_fresh, my_older, jc, probe, &stats));
    const auto want = ivf_pairs_reference(all, q, probe, threshold, 260);
    ASSERT_EQ(got.size(), want.size()) << "probe " << probe;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].a, want[i].a);
      EXPECT_EQ(got[i].b, want[i].b);
      EXPECT_NEAR(got[i].score, want[i].score, 1e-4);
      if (precision == JoinPrecision::kBF16) {
        EXPECT_EQ(got[i].score, want[i].score);
      }
    }
    // Every IVF pair is an exact pair; the clusters' pairs are nearly all found.
    std::vector<ScoredPair> exact;
    join_reference(all.view(), all.view(), true, threshold, exact);
    std::vector<ScoredPair> exact_new;
    for (const ScoredPair& s : exact)
      if (s.b >= 260) exact_new.push_back(s);
    std::size_t hit = 0;
    for (const ScoredPair& s : got)
      hit += std::any_of(exact_new.begin(), exact_new.end(),
                         [&](const ScoredPair& e) { return e.a == s.a && e.b == s.b; });
    EXPECT_EQ(hit, got.size()) << "an IVF pair the exact join does not keep";
    EXPECT_GT(exact_new.size(), 200u);
    if (probe == 4) {
      EXPECT_GE(static_cast<double>(got.size()), 0.95 * static_cast<double>(exact_new.size()));
    }
    if (comm.rank() == 0)
      std::printf("probe %d: %zu of %zu exact pairs, %.0f flops on rank 0\n", probe, got.size(),
                  exact_new.size(), stats.flops);
    for (const ScoredPair& s : got) EXPECT_GE(s.b, 260) << "an older x older pair";
  }
}

TEST(Ivf, PairsDoNotDependOnTheChunkSize) {
  const Comm& comm = *g_comm;
  const int dim = 16;
  const float threshold = 0.8f;
  const JoinRows older = make_rows(300, dim, 11);
  const JoinRows fresh = make_rows(500, dim, 12, 300);
  // Uneven shares, so that ranks need different numbers of chunks: rank r holds a share
  // that grows with r, and with more than one rank the last holds no older rows and the
  // first no fresh ones (they still take part in every chunk).
  const int r = comm.rank(), p = comm.size();
  auto bound = [p](std::int64_t n, int k) { return n * k * (k + 1) / (p * (p + 1)); };
  JoinRows my_older = rows_between(older, bound(300, r), bound(300, r + 1));
  JoinRows my_fresh = rows_between(fresh, bound(500, r), bound(500, r + 1));
  if (p > 1 && r == p - 1) {
    my_older.ids.clear();
    my_older.embedding.clear();
  }
  if (p > 1 && r == 0) {
    my_fresh.ids.clear();
    my_fresh.embedding.clear();
  }
  // The rows the ranks hold, all of them (the oracle's input).
  const std::vector<std::int64_t> ids = allgatherv_values(comm, concat(my_older, my_fresh).ids);
  IvfConfig c;
  c.lists = 12;
  c.iterations = 4;
  c.train_per_list = 16;
  const Quantizer q = train_quantizer(comm, {&my_older, &my_fresh}, c);
  JoinConfig jc;
  jc.threshold = threshold;
  jc.tile = 5;
  const int probe = 3;
  jc.block_rows = 1 << 20;  // one chunk
  IvfStats one_stats;
  const auto one = gather_sorted(comm, ivf_join(comm, q, my_fresh, my_older, jc, probe, &one_stats));
  ASSERT_GT(one.size(), 20u);
  // The oracle: the pairs of the rows the ranks hold (`all` is in id order).
  const JoinRows all = concat(older, fresh);
  JoinRows held;
  held.dim = dim;
  for (std::int64_t id : all.ids)
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      held.ids.push_back(id);
      held.embedding.insert(held.embedding.end(), all.embedding.begin() + id * dim,
                            all.embedding.begin() + (id + 1) * dim);
    }
  const std::int64_t older_end = comm.allreduce_max(my_older.ids.empty() ? 0 : my_older.ids.back() + 1);
  const auto want = ivf_pairs_reference(held, q, probe, threshold, older_end);
  ASSERT_EQ(one.size(), want.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].a, want[i].a);
    EXPECT_EQ(one[i].b, want[i].b);
  }
  for (const std::int64_t rows : {1, 3, 17, 64}) {
    jc.block_rows = rows;
    IvfStats stats;
    const auto got = gather_sorted(comm, ivf_join(comm, q, my_fresh, my_older, jc, probe, &stats));
    ASSERT_EQ(got.size(), one.size()) << rows << " rows per chunk";
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(got[i], one[i]) << rows << " rows per chunk: pair " << i << " differs, score bit for bit included";
    EXPECT_EQ(stats.records, one_stats.records) << rows << " rows per chunk";
    EXPECT_EQ(stats.flops, one_stats.flops) << rows << " rows per chunk";
  }
}

}  // namespace
}  // namespace pm::dedup

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = 0;
  {
    pm::Comm comm(MPI_COMM_WORLD);
    pm::dedup::g_comm = &comm;
    if (comm.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    rc = RUN_ALL_TESTS();
    rc = comm.all_true(rc == 0) ? 0 : 1;
  }
  MPI_Finalize();
  return rc;
}
