// pm::h5::RunWriter at 2 and 4 ranks: splits written in rounds, in whatever order and on
// whichever rank they complete, give the same file as one write of everything; a run
// closed early resumes; rows of a round cut short by a kill (written, not published) and
// /progress entries published past the commit point are dropped on resume; between
// rounds the file is a valid incomplete run that a plain reader opens.
#include <hdf5.h>

#include <random>
#include <string>
#include <vector>

#include "h5_test_util.h"
#include "mpi_test_support.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/run_writer.h"
#include "synthetic.h"

namespace pm::test {
namespace {

constexpr std::uint64_t kSplits = 37;

h5::RunAttributes attributes() {
  h5::RunAttributes a;
  a.version = "0.1.0-test";
  a.command_line = "pixelmill extract --input dir:/photos";
  a.model_card_json = "{\"name\": \"sscd\"}";
  a.model_card_sha256 = std::string(64, 'a');
  a.model_sha256 = std::string(64, 'b');
  a.parameters_json = "{\"batch\": 32}";
  a.plan_sha256 = std::string(64, 'c');
  return a;
}

// Which round and rank each split is written in: the same pseudo-random table on every
// rank (seeded), with split order and round order unrelated.
struct Schedule {
  std::vector<int> round, rank;
  int rounds = 0;
};
Schedule schedule(const Comm& comm, int rounds, unsigned seed) {
  std::mt19937 rng(seed);
  Schedule s;
  s.rounds = rounds;
  for (std::uint64_t i = 0; i < kSplits; ++i) {
    s.round.push_back(static_cast<int>(rng() % static_cast<unsigned>(rounds)));
    s.rank.push_back(static_cast<int>(rng() % static_cast<unsigned>(comm.size())));
  }
  return s;
}

std::vector<SplitResults> my_round(const Comm& comm, const Schedule& s, int round) {
  std::vector<SplitResults> mine;
  for (std::uint64_t i = 0; i < kSplits; ++i)
    if (s.round[i] == round && s.rank[i] == comm.rank()) mine.push_back(synthetic_split(i));
  return mine;
}

// Every /images dataset and /progress of two files: equal contents.
void expect_same_rows(const std::string& a, const std::string& b) {
  for (const char* name : {layout::kKey, layout::kKeyLength, layout::kStatus, layout::kError,
                           layout::kEmbedding, layout::kContentHash, layout::kPhash, layout::kWidth,
                           layout::kHeight, layout::kTimestamp, layout::kSplitDone, layout::kSplitRows,
                           layout::kSplitFirstRow}) {
    const RawDataset x = read_raw(a, name), y = read_raw(b, name);
    ASSERT_FALSE(x.dims.empty()) << a << " " << name;
    EXPECT_EQ(x.dims, y.dims) << name;
    EXPECT_TRUE(x.bytes == y.bytes) << name << " differs";
  }
}

class RunWriterTest : public MpiTest {};

TEST_F(RunWriterTest, RoundsInAnyOrderGiveTheFileOfOneWrite) {
  SharedTempDir dir(comm());
  const std::string once = dir.path() + "/once.h5";
  std::vector<SplitResults> all;
  for (std::uint64_t i = 0; i < kSplits; ++i)
    if (static_cast<int>(i % static_cast<std::uint64_t>(comm().size())) == comm().rank()) all.push_back(synthetic_split(i));
  ASSERT_EQ(h5::write_images(comm(), once, kDim, all, kSplits, attributes()),
            static_cast<std::int64_t>(expected_rows(kSplits).size()));
  for (int rounds : {1, 3, 9}) {
    const std::string streamed = dir.path() + "/streamed" + std::to_string(rounds) + ".h5";
    const Schedule s = schedule(comm(), rounds, 100u + static_cast<unsigned>(rounds));
    h5::RunWriter w = h5::RunWriter::create(comm(), streamed, kDim, kSplits, attributes());
    for (int r = 0; r < rounds; ++r) {
      auto mine = my_round(comm(), s, r);
      w.append(comm(), mine);
      // Between rounds: a valid incomplete run, readable with the plain (POSIX) reader.
      const h5::Progress p = h5::read_progress(streamed);
      EXPECT_EQ(p.complete, false);
      std::int64_t done = 0;
      for (std::uint64_t i = 0; i < kSplits; ++i)
        if (s.round[i] <= r) {
          ++done;
          EXPECT_EQ(p.split_done[i], 1) << "split " << i << " after round " << r;
        }
      EXPECT_EQ(std::count(p.split_done.begin(), p.split_done.end(), 1), done);
    }
    EXPECT_EQ(w.finish(comm()), static_cast<std::int64_t>(expected_rows(kSplits).size()));
    const h5::Progress p = h5::read_progress(streamed);
    EXPECT_TRUE(p.complete) << rounds << " rounds";
    expect_same_rows(once, streamed);
  }
}

// A run closed after two of five rounds, a round cut short after its rows were written,
// and a /progress entry published past staged_rows: resume drops both and the rest of the
// rounds still give the file of one write.
TEST_F(RunWriterTest, ResumeDropsWhatNoRoundPublished) {
  SharedTempDir dir(comm());
  const std::string once = dir.path() + "/once.h5";
  const std::string path = dir.path() + "/run.h5";
  std::vector<SplitResults> all;
  for (std::uint64_t i = 0; i < kSplits; ++i)
    if (comm().rank() == 0) all.push_back(synthetic_split(i));
  h5::write_images(comm(), once, kDim, all, kSplits, attributes());
  const Schedule s = schedule(comm(), 5, 7u);
  {
    h5::RunWriter w = h5::RunWriter::create(comm(), path, kDim, kSplits, attributes());
    for (int r = 0; r < 2; ++r) {
      auto mine = my_round(comm(), s, r);
      w.append(comm(), mine);
    }
  }  // closed without finish(): as after a kill between rounds
  const h5::Progress before = h5::read_progress(path);
  // The remains of a round cut short: rows past staged_rows in some columns, and split
  // `victim` (not done) published there without staged_rows moving.
  std::uint64_t victim = 0;
  while (before.split_done[victim]) ++victim;
  comm().barrier();  // every rank has closed the file: rank 0 opens it alone
  if (comm().rank() == 0) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    for (const char* name : {layout::kKey, layout::kEmbedding, layout::kStatus}) {
      const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
      const hid_t space = H5Dget_space(d);
      hsize_t dims[2] = {0, 0};
      const int nd = H5Sget_simple_extent_dims(space, dims, nullptr);
      dims[0] += 9;
      EXPECT_GE(H5Dset_extent(d, dims), 0) << name << " rank " << nd;
      H5Sclose(space);
      H5Dclose(d);
    }
    const hsize_t at[1] = {victim};
    const auto put = [&](const char* name, hid_t type, const void* v) {
      const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
      const hid_t space = H5Dget_space(d);
      H5Sselect_elements(space, H5S_SELECT_SET, 1, at);
      const hsize_t one = 1;
      const hid_t mem = H5Screate_simple(1, &one, nullptr);
      EXPECT_GE(H5Dwrite(d, type, mem, space, H5P_DEFAULT, v), 0);
      H5Sclose(mem);
      H5Sclose(space);
      H5Dclose(d);
    };
    const std::uint8_t yes = 1;
    const std::int64_t first = before.staged_rows + 2, rows = 3;
    put(layout::kSplitDone, H5T_NATIVE_UINT8, &yes);
    put(layout::kSplitFirstRow, H5T_NATIVE_INT64, &first);
    put(layout::kSplitRows, H5T_NATIVE_INT64, &rows);
    H5Fclose(f);
  }
  comm().barrier();
  const h5::Progress seen = h5::read_progress(path);
  EXPECT_EQ(seen.split_done, before.split_done) << "the entry past staged_rows counts as not done";
  EXPECT_EQ(seen.staged_rows, before.staged_rows);

  h5::RunWriter w = h5::RunWriter::resume(comm(), path, attributes());
  EXPECT_EQ(w.staged_rows(), before.staged_rows);
  EXPECT_EQ(w.split_done(), before.split_done);
  for (int r = 2; r < 5; ++r) {
    auto mine = my_round(comm(), s, r);
    w.append(comm(), mine);
  }
  w.finish(comm());
  EXPECT_TRUE(h5::read_progress(path).complete);
  expect_same_rows(once, path);
}

// extract --detector: rows of /detections written beside the image rows. Row i of split s
// gets (s + i) % 3 objects; object k's box is (s, i, k, 1) and its crop embedding
// (s, i, k).
constexpr int kDetDim = 3;

SplitResults with_objects(SplitResults split) {
  const auto s = static_cast<float>(split.split_index);
  for (std::size_t i = 0; i < split.rows.size(); ++i)
    for (std::size_t k = 0; k < (split.split_index + i) % 3; ++k) {
      ObjectResult o;
      o.box = {s, static_cast<float>(i), static_cast<float>(k), 1.f};
      o.score = 0.5f;
      o.cls = static_cast<std::int32_t>(k);
      o.embedding = {s, static_cast<float>(i), static_cast<float>(k)};
      split.rows[i].objects.push_back(o);
    }
  return split;
}

h5::RunAttributes detecting() {
  h5::RunAttributes a = attributes();
  a.detection_dim = kDetDim;
  a.detection_attributes["classes"] = "[\"a\",\"b\"]";
  return a;
}

// The /detections of a complete file: every object after its image's, in row order, with
// /detections/image naming its row.
void expect_detections_in_row_order(const std::string& path) {
  const RawDataset image = read_raw(path, layout::kDetImage), box = read_raw(path, layout::kDetBox);
  const RawDataset emb = read_raw(path, layout::kDetEmbedding);
  ASSERT_EQ(image.dims.size(), 1u);
  const auto* img = reinterpret_cast<const std::int64_t*>(image.bytes.data());
  const auto* b = reinterpret_cast<const float*>(box.bytes.data());
  const auto* e = reinterpret_cast<const float*>(emb.bytes.data());
  std::size_t n = 0;
  std::int64_t row = 0;
  for (std::uint64_t s = 0; s < kSplits; ++s)
    for (std::size_t i = 0; i < rows_in_split(s); ++i, ++row)
      for (std::size_t k = 0; k < (s + i) % 3; ++k, ++n) {
        ASSERT_LT(n, image.dims[0]);
        EXPECT_EQ(img[n], row) << "detection " << n;
        EXPECT_EQ(b[4 * n], static_cast<float>(s));
        EXPECT_EQ(b[4 * n + 1], static_cast<float>(i));
        EXPECT_EQ(b[4 * n + 2], static_cast<float>(k));
        EXPECT_EQ(e[3 * n + 2], static_cast<float>(k));
      }
  EXPECT_EQ(image.dims[0], n);
  EXPECT_EQ(emb.dims, (std::vector<hsize_t>{n, static_cast<hsize_t>(kDetDim)}));
}

TEST_F(RunWriterTest, DetectionsFollowTheirImageRowsInAnyRoundOrder) {
  SharedTempDir dir(comm());
  for (int rounds : {1, 4}) {
    const std::string path = dir.path() + "/det" + std::to_string(rounds) + ".h5";
    const Schedule s = schedule(comm(), rounds, 300u + static_cast<unsigned>(rounds));
    h5::RunWriter w = h5::RunWriter::create(comm(), path, kDim, kSplits, detecting());
    for (int r = 0; r < rounds; ++r) {
      auto mine = my_round(comm(), s, r);
      for (auto& split : mine) split = with_objects(std::move(split));
      w.append(comm(), mine);
      const h5::Progress p = h5::read_progress(path);
      EXPECT_TRUE(p.has_detections);
      EXPECT_EQ(p.detection_dim, kDetDim);
    }
    w.finish(comm());
    expect_detections_in_row_order(path);
    const h5::Progress p = h5::read_progress(path);
    std::int64_t at = 0;
    for (std::uint64_t i = 0; i < kSplits; ++i) {
      EXPECT_EQ(p.split_first_detection[i], at) << "split " << i;
      at += p.split_detections[i];
    }
  }
}

// Detection rows past the commit point (a round cut short) are dropped on resume, and a
// run resumed without --detector (or with) where it was started otherwise is refused.
TEST_F(RunWriterTest, DetectionsResumeAfterARoundCutShort) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/det_resume.h5";
  const Schedule s = schedule(comm(), 5, 11u);
  {
    h5::RunWriter w = h5::RunWriter::create(comm(), path, kDim, kSplits, detecting());
    for (int r = 0; r < 2; ++r) {
      auto mine = my_round(comm(), s, r);
      for (auto& split : mine) split = with_objects(std::move(split));
      w.append(comm(), mine);
    }
  }
  const h5::Progress before = h5::read_progress(path);
  comm().barrier();
  if (comm().rank() == 0) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t d = H5Dopen2(f, layout::kDetImage, H5P_DEFAULT);
    const hsize_t more[1] = {static_cast<hsize_t>(before.staged_detections + 5)};
    EXPECT_GE(H5Dset_extent(d, more), 0);
    H5Dclose(d);
    H5Fclose(f);
  }
  comm().barrier();
  EXPECT_THROW(h5::RunWriter::resume(comm(), path, attributes()), Error);
  h5::RunAttributes other = detecting();
  other.detection_dim = 0;
  EXPECT_THROW(h5::RunWriter::resume(comm(), path, other), Error);
  h5::RunWriter w = h5::RunWriter::resume(comm(), path, detecting());
  for (int r = 2; r < 5; ++r) {
    auto mine = my_round(comm(), s, r);
    for (auto& split : mine) split = with_objects(std::move(split));
    w.append(comm(), mine);
  }
  w.finish(comm());
  expect_detections_in_row_order(path);
}

TEST_F(RunWriterTest, ASplitWrittenTwiceIsRefusedEverywhere) {
  SharedTempDir dir(comm());
  const std::string path = dir.path() + "/twice.h5";
  h5::RunWriter w = h5::RunWriter::create(comm(), path, kDim, 3, attributes());
  std::vector<SplitResults> first;
  if (comm().rank() == 0) first.push_back(synthetic_split(1));
  w.append(comm(), first);
  std::vector<SplitResults> again;
  if (comm().rank() == comm().size() - 1) again.push_back(synthetic_split(1));
  EXPECT_THROW(w.append(comm(), again), Error);
  // Still in step: the run goes on.
  std::vector<SplitResults> rest;
  if (comm().rank() == 0) {
    rest.push_back(synthetic_split(0));
    rest.push_back(synthetic_split(2));
  }
  w.append(comm(), rest);
  EXPECT_EQ(w.finish(comm()), static_cast<std::int64_t>(expected_rows(3).size()));
}

}  // namespace
}  // namespace pm::test
