#include "progress_reporter.h"

#include <unistd.h>

#include <cmath>
#include <string>

namespace pm::pipeline {

ProgressReporter::ProgressReporter(std::FILE* out, std::int64_t total_hint)
    : out_(out), tty_(isatty(fileno(out)) != 0), total_(total_hint),
      start_(std::chrono::steady_clock::now()) {}

namespace {
std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}
}  // namespace

void ProgressReporter::report(const std::vector<StatsSnapshot>& ranks, bool final_line) {
  StatsSnapshot sum;
  for (const auto& r : ranks) sum += r;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double done = sum.records();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  double stage_total = 0;
  for (int s = 0; s < kStageCount; ++s) stage_total += sum.stage_seconds(s);

  char line[512];
  int n = 0;
  if (total_ > 0) {
    const double eta = rate > 0 ? (static_cast<double>(total_) - done) / rate : NAN;
    n = std::snprintf(line, sizeof line, "extract: %.0f/%lld (%.1f%%) %.1f img/s ETA %s errors %.0f",
                      done, static_cast<long long>(total_), 100.0 * done / total_, rate,
                      hms(eta).c_str(), sum.errors());
  } else {
    n = std::snprintf(line, sizeof line, "extract: %.0f done %.1f img/s errors %.0f", done, rate,
                      sum.errors());
  }
  // Only for inputs read over the network: a file run's line stays as it was.
  if (sum.remote())
    n += std::snprintf(line + n, sizeof line - n, " retries %.0f reconnects %.0f", sum.retries(),
                       sum.reconnects());
  if (stage_total > 0) {
    n += std::snprintf(line + n, sizeof line - n, " |");
    for (int s = 0; s < kStageCount && n < static_cast<int>(sizeof line); ++s)
      n += std::snprintf(line + n, sizeof line - n, " %s %.0f%%", stage_name(static_cast<Stage>(s)),
                         100.0 * sum.stage_seconds(s) / stage_total);
  }
  if (tty_)
    std::fprintf(out_, "\r%s\033[K%s", line, final_line ? "\n" : "");
  else
    std::fprintf(out_, "%s\n", line);
  std::fflush(out_);
}

}  // namespace pm::pipeline
