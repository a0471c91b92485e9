#include "progress_reporter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace pm::pipeline {

TEST(ProgressReporter, PlainLineWithTotalsRateErrorsAndStageShares) {
  char buf[1024] = {};
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  ASSERT_NE(f, nullptr);
  ProgressReporter r(f, 100);
  StatsSnapshot a, b;
  a.v[0] = 30;                       // records
  a.v[2] = 28;                       // ok
  b.v[0] = 20;
  b.v[2] = 19;
  a.v[2 + kStatusCodeCount + static_cast<int>(Stage::kInfer)] = 3.0;
  b.v[2 + kStatusCodeCount + static_cast<int>(Stage::kDecode)] = 1.0;
  r.report({a, b}, true);
  std::fclose(f);
  const std::string line(buf);
  EXPECT_NE(line.find("50/100 (50.0%)"), std::string::npos) << line;
  EXPECT_NE(line.find("errors 3"), std::string::npos) << line;
  EXPECT_NE(line.find("infer 75%"), std::string::npos) << line;
  EXPECT_NE(line.find("decode 25%"), std::string::npos) << line;
  EXPECT_NE(line.find("img/s"), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << "not a terminal: plain lines";
  EXPECT_EQ(line.find("retries"), std::string::npos) << "a local input: no connection counters";
}

TEST(ProgressReporter, RemoteInputShowsRetriesAndReconnectsOfAllRanks) {
  char buf[1024] = {};
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  ASSERT_NE(f, nullptr);
  ProgressReporter r(f, -1);
  RankStats s0, s1;
  s0.records = 10;
  s0.set_connection({true, 5, 1});
  s1.set_connection({true, 2, 1});
  r.report({StatsSnapshot::of(s0), StatsSnapshot::of(s1)}, true);
  std::fclose(f);
  const std::string line(buf);
  EXPECT_NE(line.find("retries 7 reconnects 2"), std::string::npos) << line;
  // A remote input with nothing to report still says so: zero is an answer.
  char buf2[1024] = {};
  f = fmemopen(buf2, sizeof buf2, "w");
  ProgressReporter quiet_run(f, -1);
  RankStats s2;
  s2.set_connection({true, 0, 0});
  quiet_run.report({StatsSnapshot::of(s2)}, true);
  std::fclose(f);
  EXPECT_NE(std::string(buf2).find("retries 0 reconnects 0"), std::string::npos) << buf2;
}

}  // namespace pm::pipeline
