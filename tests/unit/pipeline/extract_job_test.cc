// run_rank_with (extract_job.h) on several simulated ranks in one process: in-process
// links (local_ranks.h), synthetic and faulty sources, a memory sink and a fake embedder
// (fake_pipeline_parts.h). Stopping, resuming, checkpoint rounds and every error path, in
// milliseconds and without mpirun.
#include "extract_job.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "fake_pipeline_parts.h"
#include "local_ranks.h"

namespace pm::pipeline::testing {
namespace {

using std::chrono::microseconds;

JobConfig test_config() {
  JobConfig cfg;
  cfg.batch = 4;
  cfg.threads.compute = 1;
  cfg.threads.decode = 2;
  cfg.threads.readers = 1;
  cfg.decode.target_width = kSide;
  cfg.decode.target_height = kSide;
  cfg.embedding_output = 1;  // the fake embedder's second output
  cfg.normalize_l2 = false;
  cfg.quiet = true;
  return cfg;
}

LoopTiming fast_timing() {
  LoopTiming t;
  t.vote_every = std::chrono::milliseconds(1);
  t.idle_pause = std::chrono::milliseconds(1);
  t.publish_every = std::chrono::milliseconds(5);
  t.look_every = std::chrono::milliseconds(2);
  return t;
}

// Everything one simulated rank runs on; one per rank, alive for the whole run.
struct Rank {
  std::unique_ptr<FakeSource> source;
  CountingSpawner spawner;
  JobConfig cfg = test_config();
  MemorySink sink;
  RankStats stats;
  explicit Rank(std::unique_ptr<FakeSource> s, int fail_spawn_at = -1)
      : source(std::move(s)), spawner(fail_spawn_at) {}
};

// Runs every rank of `ranks` over `splits` through run_rank_with.
std::vector<RankResult> run(std::vector<std::unique_ptr<Rank>>& ranks,
                            const std::vector<SplitSpec>& splits) {
  LocalJob job(static_cast<int>(ranks.size()));
  const ModelCard card = fake_card();
  auto results = run_ranks(job.ranks(), [&](int r) {
    Rank& rank = *ranks[static_cast<std::size_t>(r)];
    const RankParts parts{.links = job.links(r),
                          .make_embedder = fake_embedder(),
                          .spawn = rank.spawner.spawner(),
                          .timing = fast_timing()};
    return run_rank_with(parts, *rank.source, splits, card, rank.cfg, rank.stats);
  });
  for (int r = 0; r < job.ranks(); ++r) {
    EXPECT_EQ(ranks[static_cast<std::size_t>(r)]->spawner.alive(), 0)
        << "rank " << r << " left a stage thread running";
    if (results[static_cast<std::size_t>(r)].outcome) {
      EXPECT_EQ(job.final_reports(r), 1) << "rank " << r << ": one final progress line";
    }
  }
  return results;
}

std::vector<std::unique_ptr<Rank>> fake_ranks(int n, int splits, int records,
                                              microseconds delay = {}) {
  std::vector<std::unique_ptr<Rank>> ranks;
  for (int r = 0; r < n; ++r)
    ranks.push_back(std::make_unique<Rank>(std::make_unique<FakeSource>(splits, records, delay)));
  return ranks;
}

std::vector<SplitSpec> plan(int splits, int records) { return FakeSource(splits, records).plan(); }

// The splits every rank returned (no sink) or wrote in its rounds.
std::vector<SplitResults> all_splits(std::vector<std::unique_ptr<Rank>>& ranks,
                                     std::vector<RankResult>& results) {
  std::vector<SplitResults> out;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_TRUE(results[r].outcome) << "rank " << r << " failed: " << results[r].error;
    if (!results[r].outcome) continue;
    for (auto& s : results[r].outcome->done) out.push_back(std::move(s));
    for (auto& round : ranks[r]->sink.rounds)
      for (auto& s : round) out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::uint64_t> sorted_indices(const std::vector<SplitResults>& splits) {
  std::vector<std::uint64_t> out;
  for (const auto& s : splits) out.push_back(s.split_index);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint64_t> iota(std::uint64_t n) {
  std::vector<std::uint64_t> out(n);
  std::iota(out.begin(), out.end(), 0);
  return out;
}

// A split with every one of its records, in key order, each embedded by the fake embedder.
void expect_whole(const SplitResults& s, int records) {
  ASSERT_EQ(s.rows.size(), static_cast<std::size_t>(records)) << "split " << s.split_index;
  for (int j = 0; j < records; ++j) {
    const ImageResult& row = s.rows[static_cast<std::size_t>(j)];
    EXPECT_EQ(row.key, record_key(s.split_index, j));
    EXPECT_TRUE(row.status.is_ok()) << row.key << ": " << row.status.message;
    EXPECT_EQ(row.embedding, expected_embedding(s.split_index, j)) << row.key;
    EXPECT_EQ(row.width, kSide);
  }
}

TEST(RunRankWith, EverySplitOnceWholeAndInKeyOrder) {
  constexpr int kSplits = 12, kRecords = 6;
  auto ranks = fake_ranks(3, kSplits, kRecords);
  auto results = run(ranks, plan(kSplits, kRecords));
  for (const auto& r : results) {
    ASSERT_TRUE(r.outcome) << r.error;
    EXPECT_FALSE(r.outcome->stopped);
    EXPECT_EQ(r.outcome->rounds, 0) << "no sink: the splits are returned";
  }
  const auto done = all_splits(ranks, results);
  EXPECT_EQ(sorted_indices(done), iota(kSplits));
  for (const auto& s : done) expect_whole(s, kRecords);
  for (const auto& rank : ranks) EXPECT_EQ(rank->spawner.started(), 4) << "1 inference, 2 decode, 1 reader";
}

TEST(RunRankWith, StopKeepsOnlyWholeSplitsAndAResumedRunDoesTheRest) {
  constexpr int kSplits = 24, kRecords = 5;
  const std::vector<SplitSpec> splits = plan(kSplits, kRecords);
  auto ranks = fake_ranks(2, kSplits, kRecords, microseconds(500));
  FakeSource& source0 = *ranks[0]->source;
  ranks[0]->cfg.stop_requested = [&source0] { return source0.emitted() >= 3; };
  auto first = run(ranks, splits);
  for (const auto& r : first) {
    ASSERT_TRUE(r.outcome) << r.error;
    EXPECT_TRUE(r.outcome->stopped) << "every rank learns of rank 0's stop";
  }
  auto done = all_splits(ranks, first);
  ASSERT_LT(done.size(), static_cast<std::size_t>(kSplits)) << "the stop came too late to test";
  std::vector<bool> is_done(kSplits, false);
  for (const auto& s : done) {
    expect_whole(s, kRecords);
    is_done[s.split_index] = true;
  }

  // The resumed run: the splits not done, by a fresh job without a stop request.
  std::vector<SplitSpec> pending;
  for (const auto& s : splits)
    if (!is_done[s.index]) pending.push_back(s);
  auto resumed_ranks = fake_ranks(2, kSplits, kRecords);
  auto second = run(resumed_ranks, pending);
  for (const auto& r : second) {
    ASSERT_TRUE(r.outcome) << r.error;
    EXPECT_FALSE(r.outcome->stopped);
  }
  auto rest = all_splits(resumed_ranks, second);
  for (const auto& s : rest) {
    expect_whole(s, kRecords);
    EXPECT_FALSE(is_done[s.split_index]) << "split " << s.split_index << " done twice";
  }
  for (auto& s : rest) done.push_back(std::move(s));
  EXPECT_EQ(sorted_indices(done), iota(kSplits)) << "every split exactly once over both runs";
}

// Rounds: every rank takes part in each (the same count everywhere); each split is in
// exactly one round of one rank; the last round comes at the end.
void expect_rounds(std::vector<std::unique_ptr<Rank>>& ranks, std::vector<RankResult>& results,
                   int splits, int records) {
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    ASSERT_TRUE(results[r].outcome) << results[r].error;
    EXPECT_EQ(results[r].outcome->rounds, static_cast<std::int64_t>(ranks[r]->sink.rounds.size()));
    EXPECT_EQ(results[r].outcome->rounds, results[0].outcome->rounds) << "rank " << r;
    EXPECT_TRUE(results[r].outcome->done.empty()) << "with a sink nothing is returned";
  }
  const auto done = all_splits(ranks, results);
  EXPECT_EQ(sorted_indices(done), iota(static_cast<std::uint64_t>(splits)));
  for (const auto& s : done) expect_whole(s, records);
}

// Splits written in rounds before the last one, over all ranks.
std::size_t splits_before_the_end(const std::vector<std::unique_ptr<Rank>>& ranks) {
  std::size_t n = 0;
  for (const auto& rank : ranks)
    for (std::size_t i = 0; i + 1 < rank->sink.rounds.size(); ++i) n += rank->sink.rounds[i].size();
  return n;
}

// Two ranks with checkpoint limits that one of them reaches while the run goes on: more
// than one round, some splits written before the end, every split once.
void expect_rounds_during_the_run(std::int64_t checkpoint_bytes, double checkpoint_seconds) {
  constexpr int kSplits = 16, kRecords = 4;
  auto ranks = fake_ranks(2, kSplits, kRecords, microseconds(1000));  // many votes
  for (auto& rank : ranks) {
    rank->cfg.sink = &rank->sink;
    rank->cfg.checkpoint_bytes = checkpoint_bytes;
    rank->cfg.checkpoint_seconds = checkpoint_seconds;
  }
  auto results = run(ranks, plan(kSplits, kRecords));
  expect_rounds(ranks, results, kSplits, kRecords);
  ASSERT_TRUE(results[0].outcome);
  EXPECT_GE(results[0].outcome->rounds, 2);
  EXPECT_GT(splits_before_the_end(ranks), 0u) << "rounds while the run goes on";
}

TEST(RunRankWith, RoundsWhenCompletedBytesPassTheLimit) {
  expect_rounds_during_the_run(1, 3600);  // any completed split
}

TEST(RunRankWith, RoundsWhenCheckpointSecondsPass) {
  expect_rounds_during_the_run(std::int64_t{1} << 40, 0.002);
}

TEST(RunRankWith, OneRoundAtTheEndWhenNoLimitIsReached) {
  constexpr int kSplits = 10, kRecords = 3;
  auto ranks = fake_ranks(3, kSplits, kRecords);
  for (auto& rank : ranks) {
    rank->cfg.sink = &rank->sink;
    rank->cfg.checkpoint_bytes = std::int64_t{1} << 40;
    rank->cfg.checkpoint_seconds = 3600;
  }
  auto results = run(ranks, plan(kSplits, kRecords));
  expect_rounds(ranks, results, kSplits, kRecords);
  for (const auto& r : results) {
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.outcome->rounds, 1);
  }
  EXPECT_EQ(splits_before_the_end(ranks), 0u);
}

TEST(RunRankWith, ReadErrorOnOneRankIsTheSameAgreedErrorOnEveryRank) {
  constexpr int kSplits = 30, kRecords = 5, kFailing = 1, kFailAt = 2;
  auto ranks = fake_ranks(3, kSplits, kRecords, microseconds(200));
  ranks[kFailing]->source =
      std::make_unique<FaultySource>(kSplits, kRecords, kFailAt, microseconds(200));
  auto results = run(ranks, plan(kSplits, kRecords));
  for (std::size_t r = 0; r < results.size(); ++r) {
    EXPECT_FALSE(results[r].outcome) << "rank " << r << " returned";
    EXPECT_TRUE(results[r].agreed_error) << "rank " << r << ": " << results[r].error;
    EXPECT_EQ(results[r].error, "rank 1: " + FaultySource::message(kFailAt)) << "rank " << r;
  }
}

TEST(RunRankWith, TheSameErrorOnEveryRankIsSaidOnce) {
  // No thread can be started anywhere: every rank has failed before the first vote.
  constexpr int kSplits = 6, kRecords = 2;
  std::vector<std::unique_ptr<Rank>> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(std::make_unique<Rank>(std::make_unique<FakeSource>(kSplits, kRecords), 0));
  auto results = run(ranks, plan(kSplits, kRecords));
  for (const auto& r : results) {
    EXPECT_TRUE(r.agreed_error) << r.error;
    EXPECT_EQ(r.error.rfind("could not start thread 1 of 4 ", 0), 0u) << "no rank list: " << r.error;
  }
}

TEST(RunRankWith, EmbedderFailureMarksItsRowAndTheJobGoesOn) {
  constexpr int kSplits = 8, kRecords = 4;
  auto ranks = fake_ranks(2, kSplits, kRecords);
  for (auto& rank : ranks) {
    rank->cfg.batch = 1;  // a failing batch is then one image
    rank->source->poison(3, 2);
  }
  auto results = run(ranks, plan(kSplits, kRecords));
  const auto done = all_splits(ranks, results);
  ASSERT_EQ(sorted_indices(done), iota(kSplits));
  int failed = 0;
  for (const auto& s : done) {
    ASSERT_EQ(s.rows.size(), static_cast<std::size_t>(kRecords));
    for (int j = 0; j < kRecords; ++j) {
      const ImageResult& row = s.rows[static_cast<std::size_t>(j)];
      EXPECT_EQ(row.key, record_key(s.split_index, j));
      if (s.split_index == 3 && j == 2) {
        ++failed;
        EXPECT_EQ(row.status.code, StatusCode::kInferenceError);
        EXPECT_EQ(row.status.message, "fake embedder: poisoned image");
        EXPECT_TRUE(row.embedding.empty());
      } else {
        EXPECT_TRUE(row.status.is_ok()) << row.key << ": " << row.status.message;
        EXPECT_EQ(row.embedding, expected_embedding(s.split_index, j)) << row.key;
      }
    }
  }
  EXPECT_EQ(failed, 1);
}

// The stages start 1 inference, 2 decode and 1 reader thread, in that order; the
// parameter is the one (0-based) that cannot be started on rank 2.
class ThreadThatCannotStart : public ::testing::TestWithParam<int> {};

TEST_P(ThreadThatCannotStart, IsAnAgreedErrorNamingItsRank) {
  constexpr int kSplits = 12, kRecords = 3;
  const int refused = GetParam();
  auto ranks = fake_ranks(3, kSplits, kRecords, microseconds(200));
  ranks[2] = std::make_unique<Rank>(std::make_unique<FakeSource>(kSplits, kRecords), refused);
  auto results = run(ranks, plan(kSplits, kRecords));
  const std::string expected_start = "rank 2: could not start thread " + std::to_string(refused + 1) +
                                     " of 4 (1 inference, 2 decode, 1 readers): test spawner";
  for (std::size_t r = 0; r < results.size(); ++r) {
    EXPECT_TRUE(results[r].agreed_error) << "rank " << r << ": " << results[r].error;
    EXPECT_EQ(results[r].error.rfind(expected_start, 0), 0u) << results[r].error;
    EXPECT_NE(results[r].error.find("; lower --decode-threads or --scanners"), std::string::npos);
  }
  EXPECT_EQ(ranks[2]->spawner.started(), refused);
}

INSTANTIATE_TEST_SUITE_P(EachStage, ThreadThatCannotStart, ::testing::Values(0, 1, 2, 3));

}  // namespace
}  // namespace pm::pipeline::testing
