// Rank 0's progress line: done/total, img/s, ETA, errors, share of time per stage.
// A live line (carriage return) on a terminal, plain lines in a log (Slurm).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "stats.h"

namespace pm::pipeline {

class ProgressReporter {
 public:
  ProgressReporter(std::FILE* out, std::int64_t total_hint);
  void report(const std::vector<StatsSnapshot>& ranks, bool final_line);

 private:
  std::FILE* out_;
  bool tty_;
  std::int64_t total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace pm::pipeline
