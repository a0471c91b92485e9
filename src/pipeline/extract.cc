// pm::run_extract: setup agreed by all ranks (extract_setup.h), the output inspected for
// a resume (resume.h), the plan made on rank 0, each rank's pipeline (extract_job.h)
// writing checkpoint rounds (extract_outputs.h, run_output_sink.h), the summary, and with
// --dedup the join. Configuration errors surface before any work, on every rank, with one
// message.
#include "pixelmill/extract.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <opencv2/core/utility.hpp>

#include "detection_setup.h"
#include "extract_job.h"
#include "extract_outputs.h"
#include "extract_setup.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/run_writer.h"
#include "pixelmill/sha256.h"
#include "pixelmill/sources.h"
#include "precision_setup.h"
#include "resume.h"
#include "run_output_sink.h"
#include "run_summary.h"
#include "thread_budget.h"

#ifdef PM_HAVE_HBASE
#include "pixelmill/hbase.h"
#endif
#ifdef PM_HAVE_DEDUP
#include "pixelmill/dedup.h"
#endif

namespace pm {
namespace {

using namespace pipeline;

// What is at --output decides between a fresh run, a resumed one, or nothing to do.
OutputState inspect(const Comm& comm, const ExtractOptions& o, const LoadedModel& loaded,
                    const DetectionJob* detection) {
  OutputState state;
  if (o.output.empty()) return state;
  const ModelCard& card = loaded.card;
  RunIdentity identity;
  identity.input = recorded_input(o.input);
  identity.model_sha256 = card.sha256;  // of the file that runs
  identity.model_card_sha256 = sha256_hex(card.raw_json);
  identity.reference = o.reference;
  identity.precision_ran = run_precision_name(loaded.precision.precision);
  identity.max_key_bytes = o.max_key_bytes;
  identity.detection = detection_identity(detection);
  state = inspect_output(comm, o.output, o.resume, identity);
  if (comm.rank() == 0 && !o.quiet && !state.note.empty())
    std::fprintf(stderr, "pixelmill extract: %s\n", state.note.c_str());
  if (state.mode == OutputState::Mode::kAlreadyComplete && comm.rank() == 0 && !o.quiet)
    std::fprintf(stderr, "pixelmill extract: --resume: %s is already complete (%lld rows); nothing to do\n",
                 o.output.c_str(), static_cast<long long>(state.rows));
  return state;
}

#ifdef PM_HAVE_HBASE
// The HBase write-back of the embeddings (none without --hbase-output); with --dedup, the
// table that gets each row's groups is checked now, before any work. Agreed.
std::unique_ptr<HBaseEmbeddingWriter> open_hbase_output(const Comm& comm, const ExtractOptions& o,
                                                        const ModelCard& card, const DetectionJob* detection) {
  std::unique_ptr<HBaseEmbeddingWriter> writer;
  if (!o.hbase_output.empty()) {
    agreed(comm, "HBase output", [&] {
      HBaseEmbeddingWriterOptions wo;
      wo.writer.url = parse_hbase_url(o.hbase_output);
      wo.writer.client = hbase_client_options(wo.writer.url, o.tls);
      wo.column = parse_hbase_column(o.output_column);
      wo.model_sha256 = card.sha256;
      if (detection) wo.detection_classes = detection->detector_card.detector->classes;
      writer = std::make_unique<HBaseEmbeddingWriter>(wo);
    });
  }
  if (o.dedup && o.hbase_dedup && (is_hbase_url(o.input) || !o.hbase_output.empty())) {
    agreed(comm, "HBase output of dedup results", [&] {
      const HBaseUrl url = parse_hbase_url(o.hbase_output.empty() ? o.input : o.hbase_output);
      const HBaseColumn col = parse_hbase_column(o.dedup_column);
      if (col.family.empty() || col.qualifier.empty())
        throw Error("--dedup-column must be family:prefix, not '" + o.dedup_column + "'");
      hbase_check_table_family(url, col.family, hbase_client_options(url, o.tls));
    });
  }
  return writer;
}
#endif

// Rank 0 plans; every rank gets the same plan (or the same error). Resuming, the splits
// the file holds stay there and only the others are run.
struct Work {
  std::vector<SplitSpec> splits;   // the whole plan
  std::vector<SplitSpec> pending;  // what this run processes
  std::string plan_sha256;
  std::int64_t total = 0;          // estimated records pending; -1 = unknown
};
Work plan_work(const Comm& comm, const ExtractOptions& o, Source& source,
               const OutputState& state) {
  Work w;
  const std::string plan_bytes =
      agreed_on_root(comm, "input " + o.input, [&] { return encode_splits(source.plan()); });
  w.splits = decode_splits(plan_bytes);
  w.plan_sha256 = sha256_hex(plan_bytes);
  if (state.mode == OutputState::Mode::kResume) {
    // The same plan and progress on every rank: the same verdict, said once.
    agreed(comm, "", [&] { check_plan(o.output, state.progress, w.plan_sha256, w.splits.size()); });
    for (const auto& s : w.splits)
      if (!state.progress.split_done[s.index]) w.pending.push_back(s);
  } else {
    w.pending = w.splits;
  }
  for (const auto& s : w.pending)
    w.total = (w.total >= 0 && s.estimated_records >= 0) ? w.total + s.estimated_records : -1;
  return w;
}

// The fallbacks of --precision (a network that runs slower than asked), said by rank 0
// even with --quiet, as warnings are.
void say_precision_notes(const Comm& comm, const LoadedModel& loaded, const DetectionJob* detection) {
  if (comm.rank() != 0) return;
  std::vector<const PrecisionChoice*> choices{&loaded.precision};
  if (detection) {
    choices.push_back(&detection->detector_precision);
    choices.push_back(&detection->crop_precision);
  }
  for (const PrecisionChoice* c : choices)
    if (!c->note.empty()) std::fprintf(stderr, "pixelmill extract: note: %s\n", c->note.c_str());
}

void announce(const Comm& comm, const ExtractOptions& o, const Source& source, const Work& w,
              const LoadedModel& loaded, const DetectionJob* detection, const ThreadBudget& budget) {
  if (comm.rank() != 0 || o.quiet) return;
  const std::string kernels = (o.reference ? "reference kernels " : "oneDNN ") + describe_choice(loaded.precision);
  const std::string decode = budget.decode_balanced
                                 ? std::to_string(budget.decode_started()) + " decode threads (" +
                                       std::to_string(budget.decode) + " decoding at first, balanced from measured costs)"
                                 : std::to_string(budget.decode) + " decode threads";
  std::fprintf(stderr, "pixelmill extract: %s, %zu splits, model %s on %s, %d rank(s) x %d compute + %s"
                       " (rank 0 may run on %d CPU(s), shared by %d rank(s))\n",
               source.describe().c_str(), w.splits.size(), loaded.card.name.c_str(), kernels.c_str(),
               comm.size(), budget.compute, decode.c_str(), budget.cpus.allowed, budget.cpus.sharers);
  if (detection)
    std::fprintf(stderr, "pixelmill extract: detector %s: %s; crop model %s: %s\n",
                 detection->detector_card.name.c_str(), describe_choice(detection->detector_precision).c_str(),
                 detection->crops.card.name.c_str(), describe_choice(detection->crop_precision).c_str());
}

#ifdef PM_HAVE_DEDUP
// --dedup, once the output is complete: the join over it, on the extraction's threads.
void dedup_after(const Comm& comm, const ExtractOptions& o, const ModelCard& card, int threads) {
  DedupOptions d;
  d.input = o.output;
  d.threshold = o.threshold >= 0 ? o.threshold : card.dedup_threshold;
  d.quiet = o.quiet;
  d.hbase_write = o.hbase_dedup;
  d.hbase_output = o.hbase_output;
  d.hbase_column = o.dedup_column;
  d.tls = o.tls;
  d.threads = threads;  // --threads, or the same default
  const DedupSummary ds = run_dedup(comm, d);
  if (comm.rank() == 0 && !o.quiet) std::printf("%s\n", format_summary(ds).c_str());
}
#endif

}  // namespace

ExtractSummary run_extract(const Comm& comm, const ExtractOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  // Before any work, agreed: options may come from a --config file that differs between
  // nodes, and the paths are seen through each node's own mounts.
  agreed(comm, "", [&] {
    check_options(o);
    check_paths(o, comm.rank() == 0);
  });
  const int scanners = o.scanners > 0 ? o.scanners : (is_hbase_url(o.input) ? 4 : 1);
  ThreadBudget budget = plan_threads(comm, o.threads, o.decode_threads, scanners);
  // With --detector each decode thread owns a detector sized by the split: kept fixed.
  if (!o.detector.empty()) fix_decode_threads(budget);
  SourceOptions so = source_options(comm, o);
  // --precision is decided once, here, for every network, on what every rank's CPU runs.
  const CpuCapabilities cpu = agreed_cpu_capabilities(comm);
  const LoadedModel loaded = load_model(comm, o, cpu, budget.compute);
  const ModelCard& card = loaded.card;
  // Detection is most of the work when asked for (a 640x640 detector per image against a
  // 288x288 embedding): the decode threads that run it share the compute threads.
  const std::shared_ptr<const DetectionJob> detection =
      load_detection(comm, o, cpu, budget.compute / std::max(1, budget.decode));
  say_precision_notes(comm, loaded, detection.get());

  const OutputState state = inspect(comm, o, loaded, detection.get());
  if (state.mode == OutputState::Mode::kAlreadyComplete) {
    ExtractSummary done;
    done.rows = state.rows;
    done.already_complete = true;
    return done;
  }
  const bool resuming = state.mode == OutputState::Mode::kResume;
  // A resumed run plans as the stopped one did, whatever the rank count is now.
  if (resuming) so.ranks = static_cast<int>(state.progress.plan_ranks);
  std::unique_ptr<Source> source;
  agreed(comm, "input", [&] { source = open_source(o.input, so); });
  HBaseEmbeddingWriter* hbase_out = nullptr;
#ifdef PM_HAVE_HBASE
  const std::unique_ptr<HBaseEmbeddingWriter> hbase_writer = open_hbase_output(comm, o, card, detection.get());
  hbase_out = hbase_writer.get();
#endif
  const Work work = plan_work(comm, o, *source, state);
  JobConfig cfg;
  cfg.embedding_output = loaded.embedding_output;
  fill_job_config(o, card, budget, work.total, cfg);
  if (detection) {
    cfg.make_annotator = detection_annotator(detection);
    // The decode may be reduced (JPEG DCT scaling) only as far as every network's input.
    for (const ModelCard* c : {&detection->detector_card, &detection->crops.card}) {
      cfg.decode.target_width = std::max(cfg.decode.target_width, c->input.width);
      cfg.decode.target_height = std::max(cfg.decode.target_height, c->input.height);
    }
  }
  announce(comm, o, *source, work, loaded, detection.get(), budget);

  // The output is written in checkpoint rounds while the run goes on (run_writer.h):
  // created (or reopened to continue it) before any work, so that a kill loses at most
  // the rows of one round. Each round: the completed splits into the file and their
  // embeddings to HBase, then their rows are gone from memory; collective.
  std::optional<h5::RunWriter> writer = open_run_file(comm, o, loaded, budget, work.plan_sha256,
                                                      so.ranks, resuming, work.splits.size(), detection.get());
  RankStats stats;
  RunOutputSink sink(comm, writer ? &*writer : nullptr, hbase_out, stats);
  cfg.sink = &sink;
  cfg.checkpoint_seconds = o.checkpoint_seconds;
  cfg.checkpoint_bytes = static_cast<std::int64_t>(o.checkpoint_mb * 1024 * 1024);
  // Decode threads are the parallelism for OpenCV; its own pool (TBB in Debian) would
  // only compete with the engine's OpenMP threads for the rank's cores.
  cv::setNumThreads(1);
  const RankOutcome outcome = run_rank(comm, *source, work.pending, loaded.model, card, cfg, stats);
  const RunOutputSink::Finished finished = sink.finish(work.splits.size() - work.pending.size());
  const bool complete = finished.splits_done == work.splits.size();

  // The summary's connection counters: the input's, and the embeddings write-back's.
  ConnectionCounters connection = source->connection_counters();
#ifdef PM_HAVE_HBASE
  if (hbase_writer) connection += hbase_writer->connection_counters();
#endif
  stats.set_connection(connection);
  SummaryInputs in;
  in.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  in.write_seconds = sink.seconds();
  in.output = o.output;
  in.input = o.input;
  in.embedding_dim = card.embedding.dim;
  in.compute_threads = budget.compute;
  in.decode_threads = budget.decode;
  in.decode_started = budget.decode_started();
  in.decode_balanced = budget.decode_balanced;
  in.readers = budget.readers;
  in.rounds = outcome.rounds;
  in.cpus = budget.cpus;
  in.precision = precision_record(o, loaded, detection.get());
  ExtractSummary summary = summarize(comm, stats, in, o.metrics_json, o.quiet);
  summary.rows = finished.rows;
  summary.interrupted = !complete;
  say_how_it_ended(comm, o, complete, outcome.stopped, finished.splits_done, work.splits.size());
#ifdef PM_HAVE_DEDUP
  if (o.dedup && complete) dedup_after(comm, o, card, budget.compute);
#endif
  return summary;
}

}  // namespace pm
