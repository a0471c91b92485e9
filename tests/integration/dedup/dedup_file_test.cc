// run_dedup on real HDF5 files (written by pm::h5::write_images), at 1-4 ranks: /dedup
// equals the single-process reference, and an incremental run against an older file
// keeps the older groups' ids; read_dedup_rows gives every rank its rows' keys and scores.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "dedup_core.h"
#include "pixelmill/comm.h"
#include "pixelmill/dedup.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/search.h"
#include "synthetic.h"

namespace pm::dedup {
namespace {

const Comm* g_comm = nullptr;

// All rows of one synthetic run (every rank builds the same data from the seed).
NodeBlock make_rows(std::int64_t n, int dim, std::uint32_t seed) {
  NodeBlock b;
  b.dim = dim;
  b.embedding = testing::clustered_embeddings(n, dim, seed, 6, 3, 0.2f);
  std::mt19937 gen(seed);
  for (std::int64_t i = 0; i < n; ++i) {
    b.usable.push_back(gen() % 12 != 0);
    ContentHash h{};
    const std::uint32_t content = gen() % 10 == 0 ? 7u : static_cast<std::uint32_t>(seed * 100000 + i + 1);
    std::memcpy(h.data(), &content, sizeof content);
    b.hash.push_back(h);
  }
  return b;
}

void write_run(const Comm& comm, const std::string& path, const NodeBlock& rows,
               const std::string& prefix = "img") {
  // One split per rank, contiguous rows.
  const int p = comm.size(), r = comm.rank();
  const std::int64_t n = rows.rows();
  SplitResults split;
  split.split_index = static_cast<std::uint64_t>(r);
  for (std::int64_t i = n * r / p; i < n * (r + 1) / p; ++i) {
    ImageResult x;
    x.key = prefix + std::to_string(100000 + i) + ".jpg";
    x.content_hash = rows.hash[i];
    if (rows.usable[i]) {
      x.embedding.assign(rows.embedding.begin() + i * rows.dim, rows.embedding.begin() + (i + 1) * rows.dim);
    } else {
      x.status = Status::error(StatusCode::kCorrupt, "synthetic failure");
    }
    split.rows.push_back(std::move(x));
  }
  h5::RunAttributes attrs;
  attrs.model_card_json = R"({"dedup": {"threshold": 0.8}})";
  attrs.parameters_json = "{}";
  h5::write_images(comm, path, rows.dim, {split}, static_cast<std::uint64_t>(p), attrs);
}

std::string temp_dir(const Comm& comm) {
  std::string dir;
  if (comm.rank() == 0) {
    char tmpl[] = "/tmp/pm_dedup_itest_XXXXXX";
    dir = mkdtemp(tmpl);
  }
  return comm.broadcast(dir);
}

TEST(DedupFile, MatchesReferenceAndKeepsOlderGroups) {
  const Comm& comm = *g_comm;
  const std::string dir = temp_dir(comm);
  const std::string old_path = dir + "/old.h5", new_path = dir + "/new.h5";
  const int dim = 32;
  NodeBlock old_rows = make_rows(70, dim, 3);
  NodeBlock new_rows = make_rows(90, dim, 4);
  // New rows 5 and 6 are copies of older rows 1 and 2 (a re-upload), row 7 the same
  // bytes as older row 10.
  for (int k = 0; k < 2; ++k)
    std::memcpy(new_rows.embedding.data() + (5 + k) * dim, old_rows.embedding.data() + (1 + k) * dim,
                sizeof(float) * dim);
  new_rows.usable[5] = new_rows.usable[6] = 1;
  old_rows.usable[1] = old_rows.usable[2] = 1;
  new_rows.hash[7] = old_rows.hash[10];
  write_run(comm, old_path, old_rows);
  write_run(comm, new_path, new_rows);

  // First run: the older file alone; the threshold comes from the model card (0.8).
  DedupOptions o;
  o.input = old_path;
  o.block_rows = 8;
  o.quiet = true;
  const DedupSummary s_old = run_dedup(comm, o);
  EXPECT_FLOAT_EQ(static_cast<float>(s_old.threshold), 0.8f);
  const NodeResult want_old = dedup_nodes_reference(old_rows, 0, 0.8f);
  const auto old_group = h5::read_dedup_groups(old_path, 0, 70).group;
  EXPECT_EQ(old_group, want_old.group);
  EXPECT_EQ(h5::read_dedup_groups(old_path, 0, 70).exact_group, want_old.exact_group);
  EXPECT_EQ(s_old.pairs, static_cast<std::int64_t>(want_old.pairs.size()));
  EXPECT_EQ(h5::read_dedup_info(old_path).pairs, s_old.pairs);
  EXPECT_GT(s_old.groups, 3);

  // Second run, incremental.
  o.input = new_path;
  o.against = {old_path};
  const DedupSummary s_new = run_dedup(comm, o);
  NodeBlock all = old_rows;
  all.usable.insert(all.usable.end(), new_rows.usable.begin(), new_rows.usable.end());
  all.embedding.insert(all.embedding.end(), new_rows.embedding.begin(), new_rows.embedding.end());
  all.hash.insert(all.hash.end(), new_rows.hash.begin(), new_rows.hash.end());
  for (std::int64_t i = 0; i < 70; ++i)
    if (old_group[i] != i) all.prior_edges.emplace_back(i, old_group[i]);
  const NodeResult want = dedup_nodes_reference(all, 70, 0.8f);
  auto encode = [](std::int64_t node) { return node < 70 ? 90 + node : node - 70; };
  const h5::DedupGroups ids = h5::read_dedup_groups(new_path, 0, 90);
  const auto& group = ids.group;
  const auto& exact = ids.exact_group;
  for (std::int64_t i = 0; i < 90; ++i) {
    EXPECT_EQ(group[i], encode(want.group[i])) << "row " << i;
    EXPECT_EQ(exact[i], encode(want.exact_group[i])) << "row " << i;
  }
  // The re-uploads join the older groups under the older ids.
  EXPECT_EQ(group[5], 90 + old_group[1]);
  EXPECT_EQ(group[6], 90 + old_group[2]);
  EXPECT_EQ(exact[7], 90 + 10);
  const auto pairs = h5::read_dedup_pairs(new_path, 0, s_new.pairs).pairs;
  EXPECT_EQ(s_new.pairs, static_cast<std::int64_t>(want.pairs.size()));
  bool cross = false;
  for (std::int64_t k = 0; k < s_new.pairs; ++k) {
    EXPECT_LT(pairs[2 * k], pairs[2 * k + 1]);
    cross = cross || (pairs[2 * k] == 5 && pairs[2 * k + 1] == 91);
  }
  EXPECT_TRUE(cross);
  EXPECT_EQ(s_new.against_rows, 70);
  const h5::DedupInfo info = h5::read_dedup_info(new_path);
  ASSERT_EQ(info.against.size(), 1u);
  EXPECT_EQ(info.against[0].path, old_path);
  EXPECT_EQ(info.against[0].rows, 70);
  EXPECT_EQ(info.against[0].offset, 0);
  EXPECT_EQ(info.against_rows, 70);

  // Per-row results as the HBase write-back sees them: this rank's share, with the keys of
  // group ids held by other ranks (ids >= 90 are rows of the older file) and each row's
  // pair count and best score, whichever rank read the pair.
  const DedupRows rows = read_dedup_rows(comm, new_path);
  EXPECT_EQ(rows.first_row, 90 * comm.rank() / comm.size());
  ASSERT_EQ(static_cast<std::int64_t>(rows.size()), 90 * (comm.rank() + 1) / comm.size() - rows.first_row);
  EXPECT_FLOAT_EQ(static_cast<float>(rows.threshold), 0.8f);
  const auto score = h5::read_dedup_pairs(new_path, 0, s_new.pairs).score;
  // The best-score fold below uses std::max, which skips NaN: a NaN score must fail here.
  for (std::int64_t k = 0; k < s_new.pairs; ++k) EXPECT_TRUE(std::isfinite(score[k])) << "pair " << k;
  auto key_of = [](std::int64_t id) {  // both files name row r "img{100000 + r}.jpg"
    return "img" + std::to_string(100000 + (id >= 90 ? id - 90 : id)) + ".jpg";
  };
  bool older_key = false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::int64_t row = rows.first_row + static_cast<std::int64_t>(i);
    EXPECT_EQ(rows.key[i], key_of(row));
    EXPECT_EQ(rows.group[i], group[row]);
    EXPECT_EQ(rows.exact_group[i], exact[row]);
    EXPECT_EQ(rows.group_key[i], key_of(group[row])) << "row " << row;
    EXPECT_EQ(rows.exact_group_key[i], key_of(exact[row])) << "row " << row;
    older_key = older_key || group[row] >= 90;
    std::int64_t n_pairs = 0;
    float best = -2.f;
    for (std::int64_t k = 0; k < s_new.pairs; ++k)
      if (pairs[2 * k] == row || pairs[2 * k + 1] == row) {
        ++n_pairs;
        best = std::max(best, score[k]);
      }
    EXPECT_EQ(rows.pairs[i], n_pairs) << "row " << row;
    if (n_pairs > 0) {
      EXPECT_EQ(rows.best_score[i], best) << "row " << row;
    }
  }
  EXPECT_TRUE(comm.allreduce_sum(static_cast<std::int64_t>(older_key)) > 0);
  EXPECT_THROW(read_dedup_rows(comm, dir + "/missing.h5"), Error);

  comm.barrier();
  if (comm.rank() == 0 && !std::getenv("PM_KEEP")) std::filesystem::remove_all(dir);
}


// Rows given as vectors (normalised by run_dedup), every one usable, distinct bytes.
NodeBlock rows_of(const std::vector<std::vector<float>>& v, std::uint32_t night) {
  NodeBlock b;
  b.dim = static_cast<int>(v[0].size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    b.embedding.insert(b.embedding.end(), v[i].begin(), v[i].end());
    b.usable.push_back(1);
    ContentHash h{};
    const std::uint32_t content = night * 1000 + static_cast<std::uint32_t>(i) + 1;
    std::memcpy(h.data(), &content, sizeof content);
    b.hash.push_back(h);
  }
  return b;
}

// Three nights, each joined against all earlier ones (the nightly workflow). Night 2's row
// x is near rows a and b of night 1, which are not near each other: b's group is merged
// into a's (the smaller id), recorded in night 2's /dedup/regrouped and handed to the
// HBase write-back as b's key with a's key. Night 3's row y is near b only: it must land in
// a's group, which it can only learn from night 2's record.
TEST(DedupFile, BridgingRowMergesOlderGroupsAcrossNights) {
  const Comm& comm = *g_comm;
  const std::string dir = temp_dir(comm);
  const std::string n1 = dir + "/night1.h5", n2 = dir + "/night2.h5", n3 = dir + "/night3.h5";
  auto e = [](std::initializer_list<float> head) {
    std::vector<float> v(8, 0.f);
    std::copy(head.begin(), head.end(), v.begin());
    return v;
  };
  // night 1: a, a2 (near a), b, c; night 2: x (a + b), d, c2 (near c); night 3: y (near b,
  // far from x), z (near d), w.
  write_run(comm, n1, rows_of({e({1}), e({1, 0.1f}), e({0, 1}), e({0, 0, 1})}, 1), "n1-");
  write_run(comm, n2, rows_of({e({1, 1}), e({0, 0, 0, 1}), e({0, 0, 1, 0, 0.1f})}, 2), "n2-");
  write_run(comm, n3, rows_of({e({-0.3f, 1}), e({0, 0, 0, 1, 0, 0.1f}), e({0, 0, 0, 0, 0, 0, 1})}, 3),
            "n3-");
  DedupOptions o;
  o.block_rows = 2;
  o.quiet = true;
  o.threshold = 0.65;
  o.input = n1;
  run_dedup(comm, o);
  EXPECT_EQ(h5::read_dedup_groups(n1, 0, 4).group, (std::vector<std::int64_t>{0, 0, 2, 3}));
  EXPECT_EQ(h5::read_dedup_info(n1).regrouped, 0);

  o.input = n2;
  o.against = {n1};
  const DedupSummary s2 = run_dedup(comm, o);
  // Ids of night 2: its rows 0..2, then night 1's rows 3..6. x joins a (3), b (5) is merged.
  EXPECT_EQ(h5::read_dedup_groups(n2, 0, 3).group, (std::vector<std::int64_t>{3, 1, 6}));
  EXPECT_EQ(s2.regrouped, 1);
  ASSERT_EQ(h5::read_dedup_info(n2).regrouped, 1);
  EXPECT_EQ(h5::read_dedup_regrouped(n2, 0, 1), (std::vector<std::int64_t>{5, 3}));
  const DedupRows rows2 = read_dedup_rows(comm, n2);
  std::vector<std::string> moved;
  for (std::size_t i = 0; i < rows2.regrouped_key.size(); ++i) {
    EXPECT_EQ(rows2.regrouped_group[i], 3);
    moved.push_back(rows2.regrouped_key[i] + ">" + rows2.regrouped_group_key[i]);
  }
  // Each record is on exactly one rank.
  EXPECT_EQ(comm.allreduce_sum(static_cast<std::int64_t>(moved.size())), 1);
  if (!moved.empty()) {
    EXPECT_EQ(moved[0], "n1-100002.jpg>n1-100000.jpg");
  }

  o.input = n3;
  o.against = {n1, n2};
  const DedupSummary s3 = run_dedup(comm, o);
  // Ids of night 3: its rows 0..2, night 1's 3..6, night 2's 7..9. y is near b only, whose
  // group night 2 merged into a's (3); z joins d (8); w is alone.
  EXPECT_EQ(h5::read_dedup_groups(n3, 0, 3).group, (std::vector<std::int64_t>{3, 8, 2}));
  EXPECT_EQ(s3.regrouped, 0);

  // The same rows from scratch, in one file (night 1, 2, 3 in order): the same partition.
  const std::string all = dir + "/all.h5";
  write_run(comm, all, rows_of({e({1}), e({1, 0.1f}), e({0, 1}), e({0, 0, 1}), e({1, 1}),
                               e({0, 0, 0, 1}), e({0, 0, 1, 0, 0.1f}), e({-0.3f, 1}),
                               e({0, 0, 0, 1, 0, 0.1f}), e({0, 0, 0, 0, 0, 0, 1})}, 4));
  o.input = all;
  o.against = {};
  run_dedup(comm, o);
  EXPECT_EQ(h5::read_dedup_groups(all, 0, 10).group,
            (std::vector<std::int64_t>{0, 0, 0, 3, 0, 5, 3, 0, 5, 9}));
  comm.barrier();
  if (comm.rank() == 0 && !std::getenv("PM_KEEP")) std::filesystem::remove_all(dir);
}

// Plain HDF5 reads of a whole dataset (every rank reads the file itself).
bool has_dataset(const std::string& path, const char* name) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return false;
  const bool yes = H5Lexists(f, "/index", H5P_DEFAULT) > 0 && H5Lexists(f, name, H5P_DEFAULT) > 0;
  H5Fclose(f);
  return yes;
}

template <class T>
std::vector<T> read_dataset(const std::string& path, const char* name, hid_t mem_type) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
  std::vector<T> out(n);
  if (n > 0) H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
  return out;
}

// --index ivf through the file: with every list probed (P = L) the IVF join meets every
// pair, so /dedup equals the exact join's; /index holds the quantizer, and an exact rerun
// removes it.
TEST(DedupFile, IvfWithEveryListProbedEqualsExact) {
  const Comm& comm = *g_comm;
  const std::string dir = temp_dir(comm);
  const std::string path = dir + "/run.h5";
  const int dim = 24;
  write_run(comm, path, make_rows(180, dim, 11));
  DedupOptions o;
  o.input = path;
  o.quiet = true;
  o.block_rows = 16;
  const DedupSummary exact = run_dedup(comm, o);
  const h5::DedupGroups want = h5::read_dedup_groups(path, 0, 180);
  const auto want_pairs = h5::read_dedup_pairs(path, 0, exact.pairs).pairs;
  EXPECT_FALSE(has_dataset(path, "/index/centroids"));

  o.index = "ivf";
  o.lists = 6;
  o.probe = 6;
  const DedupSummary ivf = run_dedup(comm, o);
  EXPECT_EQ(ivf.index, "ivf");
  EXPECT_EQ(ivf.lists, 6);
  EXPECT_EQ(ivf.pairs, exact.pairs);
  EXPECT_EQ(h5::read_dedup_groups(path, 0, 180).group, want.group);
  // The same pairs; the file holds each rank's share in turn, so the order differs.
  auto sorted = [](const std::vector<std::int64_t>& flat) {
    std::vector<std::pair<std::int64_t, std::int64_t>> v;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) v.emplace_back(flat[i], flat[i + 1]);
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(h5::read_dedup_pairs(path, 0, ivf.pairs).pairs), sorted(want_pairs));
  ASSERT_TRUE(has_dataset(path, "/index/centroids"));
  const std::vector<float> centroids = read_dataset<float>(path, "/index/centroids", H5T_NATIVE_FLOAT);
  EXPECT_EQ(centroids.size(), 6u * dim);
  std::int64_t stored = 0;
  for (std::int64_t v : read_dataset<std::int64_t>(path, "/index/list_sizes", H5T_NATIVE_INT64)) stored += v;
  EXPECT_EQ(stored, ivf.joined_rows);  // every joined row stored in one list

  // Fewer probes: a subset of the exact pairs.
  o.lists = 12;
  o.probe = 1;
  const DedupSummary few = run_dedup(comm, o);
  EXPECT_LE(few.pairs, exact.pairs);
  EXPECT_LT(few.join_gflop, ivf.join_gflop);
  // An exact rerun leaves no stale index behind.
  o.index = "exact";
  run_dedup(comm, o);
  EXPECT_FALSE(has_dataset(path, "/index/centroids"));

  // A run in which every image failed: nothing to train lists on, and no pairs.
  NodeBlock failed = make_rows(7, dim, 12);
  std::fill(failed.usable.begin(), failed.usable.end(), 0);
  const std::string none = dir + "/none.h5";
  write_run(comm, none, failed);
  o.input = none;
  o.index = "ivf";
  const DedupSummary empty = run_dedup(comm, o);
  EXPECT_EQ(empty.pairs, 0);
  EXPECT_EQ(empty.lists, 0);
  EXPECT_FALSE(has_dataset(none, "/index/centroids"));
  comm.barrier();
  if (comm.rank() == 0 && !std::getenv("PM_KEEP")) std::filesystem::remove_all(dir);
}

// --join-precision bf16, exact and IVF: the pairs and groups of the fp32 join, each score
// the exact one (within float rounding of fp32's), and the attribute says what ran.
TEST(DedupFile, Bf16JoinWritesTheFp32JoinsPairs) {
  const Comm& comm = *g_comm;
  const std::string dir = temp_dir(comm);
  const std::string path = dir + "/run.h5";
  const int dim = 24;
  write_run(comm, path, make_rows(180, dim, 13));
  auto pairs_of = [&](std::int64_t count) {
    const h5::DedupPairs p = h5::read_dedup_pairs(path, 0, count);
    std::map<std::pair<std::int64_t, std::int64_t>, float> out;
    for (std::size_t i = 0; i < p.score.size(); ++i) out[{p.pairs[2 * i], p.pairs[2 * i + 1]}] = p.score[i];
    return out;
  };
  for (const std::string index : {"exact", "ivf"}) {
    DedupOptions o;
    o.input = path;
    o.quiet = true;
    o.block_rows = 16;
    o.index = index;
    o.lists = 6;
    o.probe = 6;
    const DedupSummary fp32 = run_dedup(comm, o);
    EXPECT_EQ(fp32.join_precision, "fp32");
    EXPECT_EQ(h5::read_dedup_info(path).join_precision, "fp32");
    const auto want = pairs_of(fp32.pairs);
    const auto want_groups = h5::read_dedup_groups(path, 0, 180).group;
    ASSERT_GT(want.size(), 20u);

    o.join_precision = "bf16";
    const DedupSummary bf16 = run_dedup(comm, o);
    const std::string ran = dedup::cpu_has_bf16_matmul() ? "bf16" : "fp32";
    EXPECT_EQ(bf16.join_precision, ran) << index;
    EXPECT_EQ(h5::read_dedup_info(path).join_precision, ran) << index;
    if (ran == "bf16") {
      EXPECT_GE(bf16.rechecked, bf16.pairs) << "every bf16 candidate is rechecked";
    }
    const auto got = pairs_of(bf16.pairs);
    ASSERT_EQ(got.size(), want.size()) << index;
    for (const auto& [pair, score] : got) {
      ASSERT_TRUE(want.count(pair)) << index << ": pair " << pair.first << "," << pair.second;
      EXPECT_NEAR(score, want.at(pair), 1e-5) << index;
    }
    EXPECT_EQ(h5::read_dedup_groups(path, 0, 180).group, want_groups) << index;
  }
  comm.barrier();
  if (comm.rank() == 0 && !std::getenv("PM_KEEP")) std::filesystem::remove_all(dir);
}

// A later run with --index ivf keeps the lists of the newest older file that has them,
// unless they became too uneven for the rows (or --retrain); with every list probed its
// /dedup equals the exact incremental run's.
TEST(DedupFile, IvfReusesTheOlderFilesLists) {
  const Comm& comm = *g_comm;
  const std::string dir = temp_dir(comm);
  const std::string old_path = dir + "/old.h5", new_path = dir + "/new.h5";
  const int dim = 16;
  write_run(comm, old_path, make_rows(120, dim, 21));
  write_run(comm, new_path, make_rows(90, dim, 22), "new");
  DedupOptions o;
  o.quiet = true;
  o.input = old_path;
  o.index = "ivf";
  o.lists = 5;
  o.probe = 5;
  const DedupSummary first = run_dedup(comm, o);
  EXPECT_TRUE(first.index_from.empty());
  const std::vector<float> trained = read_dataset<float>(old_path, "/index/centroids", H5T_NATIVE_FLOAT);

  o.input = new_path;
  o.against = {old_path};
  o.lists = 9;  // ignored while the older lists are reused
  const DedupSummary reused = run_dedup(comm, o);
  EXPECT_EQ(reused.index_from, old_path);
  EXPECT_EQ(reused.lists, 5);
  EXPECT_GE(reused.imbalance, 1.0);
  EXPECT_EQ(read_dataset<float>(new_path, "/index/centroids", H5T_NATIVE_FLOAT), trained);
  const auto ivf_group = h5::read_dedup_groups(new_path, 0, 90).group;

  o.index = "exact";
  const DedupSummary exact = run_dedup(comm, o);
  EXPECT_EQ(h5::read_dedup_groups(new_path, 0, 90).group, ivf_group);
  EXPECT_EQ(exact.pairs, reused.pairs);

  // Lists that must be perfectly even are never good enough: trained again, on all rows.
  o.index = "ivf";
  o.max_imbalance = 1.0;
  const DedupSummary uneven = run_dedup(comm, o);
  EXPECT_TRUE(uneven.index_from.empty());
  EXPECT_GT(uneven.imbalance, 1.0);
  EXPECT_EQ(uneven.lists, 9);
  o.max_imbalance = 4.0;
  o.retrain = true;
  const DedupSummary retrained = run_dedup(comm, o);
  EXPECT_TRUE(retrained.index_from.empty());
  EXPECT_EQ(retrained.imbalance, 0.0);
  EXPECT_EQ(retrained.lists, 9);
  comm.barrier();
  if (comm.rank() == 0 && !std::getenv("PM_KEEP")) std::filesystem::remove_all(dir);
}

// search_run over ranks equals its single-process twin; with the run's lists and every
// list probed, too.
TEST(DedupFile, SearchEqualsReference) {
  const Comm& comm = *g_comm;
  const std::string dir = temp_dir(comm);
  const std::string path = dir + "/run.h5";
  const int dim = 16;
  const NodeBlock rows = make_rows(150, dim, 31);
  write_run(comm, path, rows);
  // Queries: copies of usable rows 3 and 40 with a little noise, and one of random noise.
  std::vector<float> queries;
  std::mt19937 gen(5);
  std::normal_distribution<float> nd(0.f, 0.05f);
  for (std::int64_t r : {3, 40})
    for (int k = 0; k < dim; ++k) queries.push_back(rows.embedding[static_cast<std::size_t>(r * dim + k)] + nd(gen));
  for (int k = 0; k < dim; ++k) queries.push_back(nd(gen) * 20);
  SearchOptions o;
  o.run = path;
  o.top = 4;
  const auto want = search_run_reference(o, queries, dim);
  auto same = [&](const std::vector<std::vector<SearchHit>>& got, const char* what) {
    if (comm.rank() != 0) return;
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t j = 0; j < got.size(); ++j) {
      ASSERT_EQ(got[j].size(), want[j].size()) << what << " query " << j;
      for (std::size_t k = 0; k < got[j].size(); ++k) {
        EXPECT_EQ(got[j][k].row, want[j][k].row) << what << " query " << j;
        EXPECT_EQ(got[j][k].cosine, want[j][k].cosine) << what << " query " << j;
        EXPECT_EQ(got[j][k].key, want[j][k].key) << what << " query " << j;
      }
    }
  };
  bool used = true;
  same(search_run(comm, o, queries, dim, &used), "every row");
  if (comm.rank() == 0) {
    EXPECT_FALSE(used);
    // The noisy copies find their rows first (when those rows have embeddings).
    if (rows.usable[3]) {
      EXPECT_EQ(want[0][0].row, 3);
    }
    if (rows.usable[40]) {
      EXPECT_EQ(want[1][0].row, 40);
    }
  }
  DedupOptions d;
  d.input = path;
  d.quiet = true;
  d.index = "ivf";
  d.lists = 5;
  d.probe = 1;
  run_dedup(comm, d);
  o.probe = 5;
  same(search_run(comm, o, queries, dim, &used), "every list probed");
  if (comm.rank() == 0) {
    EXPECT_TRUE(used);
  }
  o.threshold = 0.9;
  const auto close = search_run(comm, o, queries, dim);
  if (comm.rank() == 0) {
    for (const auto& hits : close)
      for (const SearchHit& h : hits) EXPECT_GE(h.cosine, 0.9f);
    EXPECT_TRUE(close[2].empty()) << "random noise met a row at cosine >= 0.9";
  }
  comm.barrier();
  if (comm.rank() == 0 && !std::getenv("PM_KEEP")) std::filesystem::remove_all(dir);
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
