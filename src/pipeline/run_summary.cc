#include "run_summary.h"

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/process_memory.h"

namespace pm::pipeline {
namespace {

// Rank 0's part: the summary lines and the metrics file.
void report_on_root(const Comm& comm, const std::vector<StatsSnapshot>& ranks,
                    const std::vector<std::int64_t>& peak_rss, const StatsSnapshot& total,
                    const ExtractSummary& out, double wall, const SummaryInputs& in,
                    const std::string& metrics_json, bool quiet) {
  nlohmann::json j;
  j["input"] = in.input;
  j["output"] = in.output;
  j["ranks"] = comm.size();
  // decode: decoding at once at the start; decode_started: threads started, of which
  // with decode_balanced the measured costs chose how many decode (per_rank's
  // decode_active).
  j["threads_per_rank"] = {{"compute", in.compute_threads}, {"decode", in.decode_threads},
                           {"decode_started", in.decode_started}, {"decode_balanced", in.decode_balanced},
                           {"readers", in.readers}};
  // Rank 0's CPUs (its affinity mask, as Slurm or mpirun bound it), for "why this many
  // threads?": the default compute threads are allowed / sharers.
  j["cpus_rank0"] = {{"allowed", in.cpus.allowed}, {"sharers", in.cpus.sharers},
                     {"node_ranks", in.cpus.node_ranks}};
  j["records"] = out.records;
  j["ok"] = out.ok;
  j["errors"] = out.records - out.ok;
  j["by_status"] = out.by_status;
  j["wall_seconds"] = wall;
  j["images_per_second"] = wall > 0 ? out.records / wall : 0.0;
  j["megabytes_read"] = total.bytes() / 1e6;
  j["write_seconds"] = in.write_seconds;
  j["checkpoint_rounds"] = in.rounds;
  j["precision"] = {{"requested", in.precision.requested}, {"ran", in.precision.ran},
                    {"reason", in.precision.reason}, {"model_file", in.precision.model_file}};
  if (!in.precision.detector_ran.empty()) {
    j["precision"]["detector"] = in.precision.detector_ran;
    j["precision"]["crop_model"] = in.precision.crop_model_ran;
  }
  nlohmann::json stages;
  for (int s = 0; s < kStageCount; ++s) stages[stage_name(static_cast<Stage>(s))] = total.stage_seconds(s);
  j["stage_thread_seconds"] = stages;
  // Failures recovered from (a Thrift server restart shows here); only for HBase runs.
  if (total.remote())
    j["connection"] = {{"retries", static_cast<std::int64_t>(total.retries())},
                       {"reconnects", static_cast<std::int64_t>(total.reconnects())}};
  nlohmann::json per_rank = nlohmann::json::array();
  double max_records = 0, sum_records = 0;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    per_rank.push_back({{"rank", r}, {"records", ranks[r].records()},
                        {"peak_rss_mb", static_cast<double>(peak_rss[r]) / (1024.0 * 1024.0)},
                        {"infer_seconds", ranks[r].stage_seconds(static_cast<int>(Stage::kInfer))},
                        {"decode_seconds", ranks[r].stage_seconds(static_cast<int>(Stage::kDecode))},
                        {"decode_active", {{"last", ranks[r].decode_active()},
                                           {"fewest", ranks[r].decode_fewest()},
                                           {"most", ranks[r].decode_most()}}}});
    max_records = std::max(max_records, ranks[r].records());
    sum_records += ranks[r].records();
  }
  j["per_rank"] = per_rank;
  // The largest resident set of any rank over the whole run (VmHWM), in MiB.
  j["peak_rss_mb"] = static_cast<double>(*std::max_element(peak_rss.begin(), peak_rss.end())) / (1024.0 * 1024.0);
  // 1.0 = perfectly even; max/mean of records per rank.
  j["imbalance"] = sum_records > 0 ? max_records / (sum_records / ranks.size()) : 1.0;

  if (!quiet) {
    std::printf("pixelmill extract: %lld records in %.1f s (%.1f img/s) on %d rank(s)\n",
                static_cast<long long>(out.records), wall, wall > 0 ? out.records / wall : 0.0,
                comm.size());
    std::printf("  ok %lld", static_cast<long long>(out.ok));
    for (const auto& [name, n] : out.by_status)
      if (name != "ok") std::printf(", %s %lld", name.c_str(), static_cast<long long>(n));
    std::printf("\n  stage time (thread-seconds, all ranks):");
    for (int s = 0; s < kStageCount; ++s)
      std::printf(" %s %.2f", stage_name(static_cast<Stage>(s)), total.stage_seconds(s));
    std::printf("\n  per rank records:");
    for (std::size_t r = 0; r < ranks.size(); ++r) std::printf(" %.0f", ranks[r].records());
    std::printf(" (max/mean %.2f)\n", j["imbalance"].get<double>());
    if (in.decode_balanced) {
      int fewest = in.decode_started, most = 0;
      for (const auto& r : ranks) {
        fewest = std::min(fewest, r.decode_fewest());
        most = std::max(most, r.decode_most());
      }
      std::printf("  decode threads: %d started per rank, %d to %d decoding at once (balanced from measured costs;"
                  " rank 0 ended at %d)\n",
                  in.decode_started, fewest, most, ranks.empty() ? 0 : ranks[0].decode_active());
    }
    std::printf("  peak memory of a rank: %.0f MiB; %lld checkpoint round(s)\n", j["peak_rss_mb"].get<double>(),
                static_cast<long long>(in.rounds));
    if (total.remote())
      std::printf("  connection: %.0f retries, %.0f reconnects\n", total.retries(), total.reconnects());
    std::fflush(stdout);
  }
  if (!metrics_json.empty()) {
    std::ofstream f(metrics_json);
    if (!f) throw Error("cannot write --metrics-json file " + metrics_json);
    f << j.dump(2) << "\n";
    if (!f.flush()) throw Error("error writing --metrics-json file " + metrics_json);
  }
}

}  // namespace

ExtractSummary summarize(const Comm& comm, const RankStats& stats, const SummaryInputs& in,
                         const std::string& metrics_json, bool quiet) {
  const StatsSnapshot mine = StatsSnapshot::of(stats);
  std::vector<double> flat(mine.v.begin(), mine.v.end());
  // Per-rank balance needs every rank's numbers, not only the sum.
  std::string bytes(reinterpret_cast<const char*>(flat.data()), flat.size() * sizeof(double));
  const auto parts = comm.allgatherv(bytes);
  std::vector<StatsSnapshot> ranks(parts.size());
  StatsSnapshot total;
  for (std::size_t r = 0; r < parts.size(); ++r) {
    std::memcpy(ranks[r].v.data(), parts[r].data(), sizeof(double) * StatsSnapshot::kFields);
    total += ranks[r];
  }
  const double wall = comm.allreduce_max(in.wall_seconds);
  const std::vector<std::int64_t> peak_rss = comm.allgather(process_status_bytes("VmHWM"));

  ExtractSummary out;
  out.records = static_cast<std::int64_t>(total.records());
  out.ok = static_cast<std::int64_t>(total.status(0));
  out.seconds = wall;
  for (int c = 0; c < kStatusCodeCount; ++c)
    if (total.status(c) > 0)
      out.by_status[std::string(status_name(static_cast<StatusCode>(c)))] =
          static_cast<std::int64_t>(total.status(c));
  // Rank 0 prints and writes --metrics-json; the others wait for its verdict: a file that
  // cannot be written must fail every rank here, not leave rank 0 behind while the others
  // go on into the next collective (dedup).
  agreed_on_root(comm, "", [&] {
    report_on_root(comm, ranks, peak_rss, total, out, wall, in, metrics_json, quiet);
    return std::string();
  });
  return out;
}

}  // namespace pm::pipeline
