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
}

}  // namespace pm::pipeline
