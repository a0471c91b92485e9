// Several simulated ranks in one process: the RankLinks of rank_links.h over shared memory
// (LocalJob), and run_ranks(), which runs one body per rank on its own thread and fails the
// test (rather than blocking it) when they do not all return in time. The collectives keep
// the contracts of the MPI objects they stand for: every rank's k-th vote or agreement is
// decided from the k-th call of every rank.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "job_config.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "rank_links.h"
#include "thread_spawner.h"

namespace pm::pipeline::testing {

class LocalJob {
 public:
  explicit LocalJob(int ranks) : ranks_(ranks) {
    for (int r = 0; r < ranks; ++r) members_.push_back(std::make_unique<Member>(*this, r));
  }
  int ranks() const { return ranks_; }
  RankLinks links(int rank) {
    Member& m = *members_.at(static_cast<std::size_t>(rank));
    return RankLinks{rank, m, m, m, m};
  }
  std::int64_t publishes(int rank) const { return members_.at(static_cast<std::size_t>(rank))->publishes; }
  std::int64_t final_reports(int rank) const {
    return members_.at(static_cast<std::size_t>(rank))->final_reports;
  }

 private:
  // A collective that does not complete is a bug of the code under test; it fails the
  // test instead of waiting for ever.
  static constexpr auto kCollectiveLimit = std::chrono::seconds(20);

  struct Gather {
    std::vector<std::string> values;
    int arrived = 0;
  };
  struct Ballot {
    RoundVote::Values max{};
    int arrived = 0;
  };

  class Member final : public WorkClaimer, public RoundVote, public ProgressSink, public RankAgreement {
   public:
    Member(LocalJob& job, int rank) : job_(job), rank_(rank) {}
    // WorkClaimer: one counter; stop() adds kStopped, as pm::SharedCounter does.
    std::int64_t next() override { return job_.counter_.fetch_add(1); }
    void stop() override { job_.counter_.fetch_add(kStopped); }
    bool stopped() override { return job_.counter_.load() >= kStopped; }
    // RoundVote
    void start(const Values& mine) override {
      EXPECT_FALSE(running_) << "a vote started while one is running";
      std::lock_guard lock(job_.mu_);
      Ballot& b = job_.ballots_[vote_];
      for (int i = 0; i < kValues; ++i) b.max[i] = std::max(b.max[i], mine[i]);
      ++b.arrived;
      running_ = true;
    }
    bool running() const override { return running_; }
    bool test() override {
      std::lock_guard lock(job_.mu_);
      const Ballot& b = job_.ballots_[vote_];
      if (b.arrived < job_.ranks_) return false;
      result_ = b.max;
      running_ = false;
      ++vote_;
      return true;
    }
    const Values& result() const override { return result_; }
    // ProgressSink
    void publish(const StatsSnapshot&) override { ++publishes; }
    void report(bool final_line) override {
      if (final_line) ++final_reports;
    }
    // RankAgreement
    void agree_on(const std::string& failure) override {
      const std::vector<std::string> all = gather(failure);
      if (std::all_of(all.begin(), all.end(), [](const std::string& s) { return s.empty(); })) return;
      throw AgreedError(describe_failures("", all));
    }
    bool any(bool mine) override {
      const std::vector<std::string> all = gather(mine ? "1" : "");
      return std::any_of(all.begin(), all.end(), [](const std::string& s) { return !s.empty(); });
    }

    std::atomic<std::int64_t> publishes{0};
    std::atomic<std::int64_t> final_reports{0};

   private:
    std::vector<std::string> gather(const std::string& mine) {
      std::unique_lock lock(job_.mu_);
      Gather& g = job_.gathers_[gather_++];
      if (g.values.empty()) g.values.resize(static_cast<std::size_t>(job_.ranks_));
      g.values[static_cast<std::size_t>(rank_)] = mine;
      ++g.arrived;
      job_.cv_.notify_all();
      if (!job_.cv_.wait_for(lock, kCollectiveLimit, [&] { return g.arrived == job_.ranks_; }))
        throw Error("test: rank " + std::to_string(rank_) + " waited in a collective that others never joined");
      return g.values;
    }

    LocalJob& job_;
    const int rank_;
    bool running_ = false;
    std::int64_t vote_ = 0;
    std::int64_t gather_ = 0;
    Values result_{};
  };

  const int ranks_;
  std::atomic<std::int64_t> counter_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::int64_t, Ballot> ballots_;
  std::map<std::int64_t, Gather> gathers_;
  std::vector<std::unique_ptr<Member>> members_;
};

// Starts the stages' threads with std::thread, counts those still running, and can refuse
// the thread number `fail_at` (0-based) as std::thread does when the process is out of
// threads.
class CountingSpawner {
 public:
  explicit CountingSpawner(int fail_at = -1) : fail_at_(fail_at) {}
  ThreadSpawner spawner() {
    return [this](std::function<void()> body) {
      if (started_ == fail_at_)
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "test spawner");
      ++started_;
      ++alive_;
      return std::thread([this, body = std::move(body)] {
        body();
        --alive_;
      });
    };
  }
  int started() const { return started_; }
  int alive() const { return alive_; }

 private:
  const int fail_at_;
  std::atomic<int> started_{0};
  std::atomic<int> alive_{0};
};

// What one simulated rank's run ended with: its outcome, or the error it threw.
struct RankResult {
  std::optional<RankOutcome> outcome;
  std::string error;          // what() of the exception, "" when it returned
  bool agreed_error = false;  // the exception was a pm::AgreedError
};

// Runs body(rank) for every rank, each on its own thread, and returns what each gave.
// Ranks that have not all returned within `limit` are a hang: the test binary ends with a
// message (the threads cannot be taken back), so the test fails instead of blocking.
inline std::vector<RankResult> run_ranks(int ranks, const std::function<RankOutcome(int)>& body,
                                         std::chrono::seconds limit = std::chrono::seconds(30)) {
  std::vector<RankResult> results(static_cast<std::size_t>(ranks));
  std::mutex mu;
  std::condition_variable cv;
  int ended = 0;
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      RankResult& out = results[static_cast<std::size_t>(r)];
      try {
        out.outcome = body(r);
      } catch (const AgreedError& e) {
        out.error = e.what();
        out.agreed_error = true;
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      std::lock_guard lock(mu);
      ++ended;
      cv.notify_all();
    });
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, limit, [&] { return ended == ranks; })) {
      std::fprintf(stderr, "FAILED: %d of %d simulated ranks still running after %lld s: a hang\n",
                   ranks - ended, ranks, static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::_Exit(3);
    }
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace pm::pipeline::testing
