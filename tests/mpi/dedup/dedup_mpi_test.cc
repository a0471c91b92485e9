// Groups, exact groups and pairs of the distributed dedup equal the single-process
// reference at every rank count (CTest runs this at 1, 2, 3 and 4 ranks), with chunks
// and tiles small enough that every ring step and edge tile is exercised.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstring>
#include <random>

#include "dedup_core.h"
#include "pixelmill/comm.h"
#include "synthetic.h"

namespace pm::dedup {
namespace {

const Comm* g_comm = nullptr;

// All rows of a synthetic data set: older rows first, then fresh ones.
struct DataSet {
  std::int64_t older_rows = 0;
  std::int64_t fresh_rows = 0;
  NodeBlock all;
};

DataSet make_data(std::int64_t older, std::int64_t fresh, int dim, std::uint32_t seed) {
  DataSet d;
  d.older_rows = older;
  d.fresh_rows = fresh;
  const std::int64_t n = older + fresh;
  d.all.dim = dim;
  d.all.embedding = testing::clustered_embeddings(n, dim, seed, 5, 3, 0.2f);
  std::mt19937 gen(seed + 1);
  for (std::int64_t i = 0; i < n; ++i) {
    d.all.usable.push_back(gen() % 10 != 0);  // one row in ten failed
    ContentHash h{};
    // A few files appear twice (same bytes); one row in twenty has unreadable bytes.
    const std::uint32_t content = gen() % 20 == 0 ? 0u : (gen() % 8 == 0 ? gen() % 6 + 1 : 1000 + i);
    if (content != 0) std::memcpy(h.data(), &content, sizeof content);
    d.all.hash.push_back(h);
  }
  // Plant one exact copy of a fresh row's embedding in an older row (cross pair).
  if (older > 0 && fresh > 3)
    std::memcpy(d.all.embedding.data() + (older - 1) * dim,
                d.all.embedding.data() + (older + 3) * dim, sizeof(float) * dim);
  // Older groups found by an earlier run: chain a few older rows together.
  for (std::int64_t i = 2; i + 1 < older; i += 9) d.all.prior_edges.emplace_back(i + 1, i - 2);
  return d;
}

NodeBlock slice(const NodeBlock& all, std::int64_t begin, std::int64_t end) {
  NodeBlock b;
  b.first_node = all.first_node + begin;
  b.dim = all.dim;
  b.usable.assign(all.usable.begin() + begin, all.usable.begin() + end);
  b.embedding.assign(all.embedding.begin() + begin * all.dim, all.embedding.begin() + end * all.dim);
  b.hash.assign(all.hash.begin() + begin, all.hash.begin() + end);
  for (const auto& e : all.prior_edges)
    if (e.first >= b.first_node && e.first < b.first_node + (end - begin)) b.prior_edges.push_back(e);
  return b;
}

template <class T>
std::vector<T> gather(const Comm& comm, const std::vector<T>& mine) {
  std::string bytes(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(T));
  std::vector<T> all;
  for (const std::string& part : comm.allgatherv(bytes)) {
    const std::size_t n = part.size() / sizeof(T);
    const std::size_t at = all.size();
    all.resize(at + n);
    if (n) std::memcpy(all.data() + at, part.data(), part.size());
  }
  return all;
}

// `regrouped`: where to put the reference's count of regrouped older rows, for tests that
// need some.
void check(const DataSet& d, const JoinConfig& config, std::size_t* regrouped_count = nullptr) {
  const Comm& comm = *g_comm;
  const int p = comm.size();
  const int r = comm.rank();
  const std::int64_t fb = d.fresh_rows * r / p, fe = d.fresh_rows * (r + 1) / p;
  const std::int64_t ob = d.older_rows * r / p, oe = d.older_rows * (r + 1) / p;
  const NodeBlock fresh = slice(d.all, d.older_rows + fb, d.older_rows + fe);
  const NodeBlock older = slice(d.all, ob, oe);
  const NodeResult got = dedup_nodes(comm, fresh, older, config);
  ASSERT_EQ(static_cast<std::int64_t>(got.group.size()), fe - fb);

  const NodeResult want = dedup_nodes_reference(d.all, d.older_rows, config.threshold);
  const auto group = gather(comm, got.group);
  const auto exact = gather(comm, got.exact_group);
  EXPECT_EQ(group, want.group);
  EXPECT_EQ(exact, want.exact_group);
  auto pairs = gather(comm, got.pairs);
  std::sort(pairs.begin(), pairs.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  ASSERT_EQ(pairs.size(), want.pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(pairs[i].a, want.pairs[i].a);
    EXPECT_EQ(pairs[i].b, want.pairs[i].b);
    EXPECT_NEAR(pairs[i].score, want.pairs[i].score, 1e-4);
    // bf16 scores every candidate with exact_dot, as the reference does.
    if (config.precision == JoinPrecision::kBF16) {
      EXPECT_EQ(pairs[i].score, want.pairs[i].score);
    }
  }
  EXPECT_EQ(comm.allreduce_sum(got.joined_rows), want.joined_rows);
  // Older rows whose group the fresh rows merged into an older one: the same records.
  std::vector<std::int64_t> flat;
  for (const auto& [row, into] : got.regrouped) flat.insert(flat.end(), {row, into});
  const auto all_flat = gather(comm, flat);
  std::vector<Edge> regrouped, want_regrouped = want.regrouped;
  for (std::size_t i = 0; i + 1 < all_flat.size(); i += 2)
    regrouped.emplace_back(all_flat[i], all_flat[i + 1]);
  std::sort(regrouped.begin(), regrouped.end());
  std::sort(want_regrouped.begin(), want_regrouped.end());
  EXPECT_EQ(regrouped, want_regrouped);
  if (regrouped_count) *regrouped_count = want_regrouped.size();
  // The data must actually contain groups, or the comparison proves little.
  std::int64_t nontrivial = 0;
  for (std::size_t i = 0; i < want.group.size(); ++i)
    if (want.group[i] != d.older_rows + static_cast<std::int64_t>(i)) ++nontrivial;
  EXPECT_GT(nontrivial, 10);
}

TEST(DedupMpi, SelfJoinOnlyMatchesReference) {
  JoinConfig c;
  c.threshold = 0.8f;
  c.block_rows = 7;
  c.tile = 5;
  check(make_data(0, 230, 24, 17), c);
}

TEST(DedupMpi, WithOlderRowsMatchesReference) {
  JoinConfig c;
  c.threshold = 0.8f;
  c.block_rows = 16;
  c.tile = 8;
  std::size_t regrouped = 0;
  check(make_data(97, 181, 16, 23), c, &regrouped);
  EXPECT_GT(regrouped, 0u) << "no fresh row bridged two older groups";
}

// The bf16 join proposes candidates and confirms each exactly: the reference's pairs,
// scores and groups at every rank count and tiling.
TEST(DedupMpi, Bf16MatchesReferenceExactly) {
  for (const std::int64_t tile : {5, 64}) {
    JoinConfig c;
    c.threshold = 0.8f;
    c.block_rows = 16;
    c.tile = tile;
    c.precision = JoinPrecision::kBF16;
    check(make_data(97, 181, 16, 23), c);
    check(make_data(0, 230, 24, 17), c);
  }
}

TEST(DedupMpi, LargeBlocksOneChunk) {
  JoinConfig c;
  c.threshold = 0.75f;
  c.block_rows = 8192;
  c.tile = 1024;
  check(make_data(40, 600, 64, 5), c);
}

TEST(DedupMpi, FewerRowsThanRanks) {
  JoinConfig c;
  c.threshold = 0.8f;
  c.block_rows = 1;
  c.tile = 1;
  DataSet d = make_data(1, 2, 8, 9);
  // Make them all one group so the check for non-trivial groups does not apply: compare only.
  const Comm& comm = *g_comm;
  const int p = comm.size(), r = comm.rank();
  const NodeBlock fresh = slice(d.all, 1 + 2 * r / p, 1 + 2 * (r + 1) / p);
  const NodeBlock older = slice(d.all, 1 * r / p, 1 * (r + 1) / p);
  const NodeResult got = dedup_nodes(comm, fresh, older, c);
  const NodeResult want = dedup_nodes_reference(d.all, 1, c.threshold);
  EXPECT_EQ(gather(comm, got.group), want.group);
  EXPECT_EQ(gather(comm, got.exact_group), want.exact_group);
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
    // Only rank 0 prints gtest output; every rank runs and asserts.
    if (comm.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    rc = RUN_ALL_TESTS();
    // A failure on any rank fails the test everywhere.
    rc = comm.all_true(rc == 0) ? 0 : 1;
  }
  MPI_Finalize();
  return rc;
}
