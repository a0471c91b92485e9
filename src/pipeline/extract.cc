// pm::run_extract: setup agreed by all ranks, plan on rank 0, claim-and-process on every
// rank, one collective HDF5 write, summary. Configuration errors surface before any
// work, on every rank, with one message.
#include "pixelmill/extract.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <sstream>

#include "extract_job.h"
#include "pixelmill/agreed.h"
#include "pixelmill/engine.h"
#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/run_writer.h"
#include "pixelmill/limits.h"
#include "pixelmill/model_card.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/sha256.h"
#include "pixelmill/sources.h"
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

#ifndef PM_VERSION
#define PM_VERSION "0.0.0"
#endif

namespace pm {
namespace {

// Checks of the options alone: the same options give the same verdict on every rank.
void check_options(const ExtractOptions& o) {
  if (o.input.empty()) throw Error("--input is required (dir:PATH, list:FILE or hbase://HOST:PORT/TABLE)");
  if (o.output.empty() && o.hbase_output.empty()) throw Error("--output is required");
  if (o.model.empty()) throw Error("--model is required");
  if (o.batch < 1 || o.batch > kMaxBatch)
    throw Error("--batch must be in 1.." + std::to_string(kMaxBatch) + ", not " + std::to_string(o.batch));
  if (o.threads < 0 || o.threads > kMaxThreadsPerRank)
    throw Error("--threads must be in 0.." + std::to_string(kMaxThreadsPerRank) +
                " (0 = this rank's share of its CPUs), not " + std::to_string(o.threads));
  if (o.decode_threads < 0 || o.decode_threads > kMaxThreadsPerRank)
    throw Error("--decode-threads must be in 0.." + std::to_string(kMaxThreadsPerRank) +
                " (0 = half the compute threads), not " + std::to_string(o.decode_threads));
  if (o.max_pixels < 1) throw Error("--max-pixels must be positive");
  if (o.max_bytes < 1) throw Error("--max-bytes must be positive");
  if (!(o.checkpoint_seconds > 0) || o.checkpoint_seconds > 7 * 86400)
    throw Error("--checkpoint-seconds must be in (0, 604800], not " + std::to_string(o.checkpoint_seconds));
  if (!(o.checkpoint_mb > 0) || o.checkpoint_mb > 1024 * 1024)
    throw Error("--checkpoint-mb must be in (0, 1048576], not " + std::to_string(o.checkpoint_mb));
  if (o.max_key_bytes < 1 || o.max_key_bytes > static_cast<std::int64_t>(layout::kMaxKeyWidth))
    throw Error("--max-key-bytes must be in 1.." + std::to_string(layout::kMaxKeyWidth));
  if (o.scanners < 0 || o.scanners > kMaxScanners)
    throw Error("--scanners must be in 0.." + std::to_string(kMaxScanners) + ", not " +
                std::to_string(o.scanners));
  if (!(o.max_read_mbps >= 0)) throw Error("--max-read-mbps cannot be negative");
  if (o.since >= 0 && o.until >= 0 && o.since >= o.until) throw Error("--since must be before --until");
  if (!(o.progress_seconds > 0)) throw Error("--progress-seconds must be positive");
  if (o.dedup && o.output.empty()) throw Error("--dedup needs an HDF5 --output");
  if (o.resume && o.output.empty()) throw Error("--resume needs the HDF5 --output of the stopped run");
#ifdef PM_HAVE_DEDUP
  // Checked now, not when dedup starts after the whole extraction.
  if (o.dedup) check_threshold(o.threshold);
#else
  if (o.dedup) throw Error("this pixelmill was built without the dedup module");
#endif
#ifndef PM_HAVE_HBASE
  if (!o.hbase_output.empty()) throw Error("this pixelmill was built without HBase support");
#endif
}

// A file this rank will write: its directory must exist and be writable, and the path
// must not be a directory. Node-local views differ (a scratch directory missing on one
// node), so the verdict may differ between ranks: called under agreement.
void check_writable(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path file = fs::absolute(path);
  const fs::path dir = file.parent_path();
  if (!fs::is_directory(dir, ec))
    throw Error(flag + " directory " + dir.string() + " does not exist");
  if (fs::is_directory(file, ec)) throw Error(flag + " " + path + " is a directory");
  const fs::path probe = fs::exists(file, ec) ? file : dir;
  if (::access(probe.c_str(), W_OK) != 0)
    throw Error(flag + " " + path + ": " + probe.string() + " is not writable (" +
                std::strerror(errno) + ")");
}

// Checks of what this rank will write: every rank writes its rows into --output; rank 0
// writes --metrics-json.
void check_paths(const ExtractOptions& o, bool root) {
  if (!o.output.empty()) check_writable("--output", o.output);
  if (root && !o.metrics_json.empty()) check_writable("--metrics-json", o.metrics_json);
}

// The input as recorded in the output: a directory by its absolute path.
std::string recorded_input(const std::string& input) {
  if (input.rfind("dir:", 0) == 0)
    return "dir:" + std::filesystem::absolute(input.substr(4)).lexically_normal().string();
  return input;
}

// What the source is opened with: the options' input filters and limits.
SourceOptions source_options(const Comm& comm, const ExtractOptions& o) {
  SourceOptions so;
  so.ranks = comm.size();
  so.column = o.column;
  so.start_row = o.start_row;
  so.stop_row = o.stop_row;
  so.since = o.since;
  so.until = o.until;
  so.max_read_mbps = o.max_read_mbps;
  so.max_record_bytes = o.max_bytes;
  so.tls = o.tls;
  return so;
}

// The network and its card, checked against each other; agreed by all ranks.
struct LoadedModel {
  ModelCard card;
  std::shared_ptr<const engine::Model> model;
  int embedding_output = -1;  // index of the card's embedding among the model's outputs
};

LoadedModel load_model(const Comm& comm, const ExtractOptions& o, int compute_threads) {
  LoadedModel m;
  agreed(comm, "model", [&] {
    ModelFiles files = resolve_model(o.model);  // the ONNX file or its card
    m.card = std::move(files.card);
    engine::EngineOptions eo;
    eo.reference = o.reference;
    eo.precision = o.bf16 ? engine::Precision::kBF16 : engine::Precision::kF32;
    eo.threads = compute_threads;
    m.model = engine::Model::load(files.onnx, eo);
    const auto& outs = m.model->outputs();
    m.embedding_output = -1;
    for (std::size_t i = 0; i < outs.size(); ++i)
      if (outs[i].name == m.card.embedding.output) m.embedding_output = static_cast<int>(i);
    if (m.embedding_output < 0)
      throw Error("the model has no output '" + m.card.embedding.output + "' named by its card");
    if (m.model->inputs().size() != 1)
      throw Error("extract needs a model with one image input; this one has " +
                  std::to_string(m.model->inputs().size()));
  });
  return m;
}

// What each rank's pipeline is asked to do (the output side is set by the caller).
void fill_job_config(const ExtractOptions& o, const ModelCard& card,
                     const pipeline::ThreadBudget& budget, std::int64_t total,
                     pipeline::JobConfig& cfg) {
  cfg.batch = o.batch;
  cfg.threads = budget;
  cfg.decode.target_width = card.input.width;
  cfg.decode.target_height = card.input.height;
  cfg.decode.max_pixels = o.max_pixels;
  cfg.decode.max_bytes = o.max_bytes;
  cfg.max_key_bytes = o.max_key_bytes;
  // "l2": stored embeddings are unit length (a no-op when the network already divides
  // by the norm); "none": stored as the network gives them.
  cfg.normalize_l2 = card.embedding.normalize == EmbeddingNorm::kL2;
  cfg.progress_seconds = o.progress_seconds;
  cfg.quiet = o.quiet;
  cfg.total_hint = total;
  cfg.stop_requested = o.stop_requested;
}

// The run file at --output (none without it): created, or reopened to continue a
// stopped run. Collective.
std::optional<h5::RunWriter> open_run_file(const Comm& comm, const ExtractOptions& o,
                                           const ModelCard& card,
                                           const pipeline::ThreadBudget& budget,
                                           const std::string& plan_sha256, int plan_ranks,
                                           bool resuming, std::size_t planned_splits) {
  std::optional<h5::RunWriter> writer;
  if (!o.output.empty()) {
    h5::RunAttributes attrs;
    attrs.version = PM_VERSION;
    attrs.command_line = o.command_line;
    attrs.model_card_json = card.raw_json;
    attrs.model_card_sha256 = sha256_hex(card.raw_json);
    attrs.model_sha256 = card.sha256;
    nlohmann::json params = {
        {"input", o.input}, {"output", o.output}, {"model", o.model}, {"batch", o.batch},
        {"ranks", comm.size()}, {"compute_threads", budget.compute},
        {"decode_threads", budget.decode}, {"max_pixels", o.max_pixels},
        {"max_bytes", o.max_bytes}, {"max_key_bytes", o.max_key_bytes},
        {"reference", o.reference}, {"bf16", o.bf16}};
    params["input"] = recorded_input(o.input);
    attrs.parameters_json = params.dump();
    attrs.plan_sha256 = plan_sha256;
    attrs.plan_ranks = plan_ranks;
    writer.emplace(resuming ? h5::RunWriter::resume(comm, o.output, attrs)
                            : h5::RunWriter::create(comm, o.output, card.embedding.dim, planned_splits, attrs));
  }
  return writer;
}

// Rank 0 says whether the run stopped early and how to go on.
void say_how_it_ended(const Comm& comm, const ExtractOptions& o, bool complete, bool stopped,
                      std::size_t splits_done, std::size_t planned) {
  if (!complete && comm.rank() == 0) {
    if (o.output.empty())
      std::fprintf(stderr, "pixelmill extract: stopped early with %zu of %zu splits done; "
                           "there is no --output file to resume from\n", splits_done, planned);
    else
      std::fprintf(stderr, "pixelmill extract: stopped early: %zu of %zu splits done, written to %s "
                           "(marked incomplete). Run the same command with --resume to process "
                           "the other %zu splits.\n",
                   splits_done, planned, o.output.c_str(), planned - splits_done);
  } else if (stopped && comm.rank() == 0 && !o.quiet) {
    std::fprintf(stderr, "pixelmill extract: a stop was requested after the last split was done; "
                         "the output is complete\n");
  }
}

}  // namespace

ExtractSummary run_extract(const Comm& comm, const ExtractOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  // Before any work, agreed: options may come from a --config file that differs between
  // nodes, and the paths are seen through each node's own mounts.
  agreed(comm, "", [&] {
    check_options(o);
    check_paths(o, comm.rank() == 0);
  });

  ModelCard card;
  std::shared_ptr<const engine::Model> model;
  std::unique_ptr<Source> source;
  pipeline::JobConfig cfg;
  const bool hbase_input = is_hbase_url(o.input);
  const int scanners = o.scanners > 0 ? o.scanners : (hbase_input ? 4 : 1);
  pipeline::ThreadBudget budget = pipeline::plan_threads(comm, o.threads, o.decode_threads, scanners);
  SourceOptions so = source_options(comm, o);

  const LoadedModel loaded = load_model(comm, o, budget.compute);
  card = loaded.card;
  model = loaded.model;
  cfg.embedding_output = loaded.embedding_output;
  // What is at --output decides between a fresh run, a resumed one, or nothing to do.
  pipeline::OutputState output_state;
  if (!o.output.empty()) {
    pipeline::RunIdentity identity{recorded_input(o.input), card.sha256,
                                   sha256_hex(card.raw_json), o.reference, o.bf16};
    identity.max_key_bytes = o.max_key_bytes;
    output_state = pipeline::inspect_output(comm, o.output, o.resume, identity);
  }
  if (comm.rank() == 0 && !o.quiet && !output_state.note.empty())
    std::fprintf(stderr, "pixelmill extract: %s\n", output_state.note.c_str());
  if (output_state.mode == pipeline::OutputState::Mode::kAlreadyComplete) {
    if (comm.rank() == 0 && !o.quiet)
      std::fprintf(stderr, "pixelmill extract: --resume: %s is already complete (%lld rows); nothing to do\n",
                   o.output.c_str(), static_cast<long long>(output_state.rows));
    ExtractSummary done;
    done.rows = output_state.rows;
    done.already_complete = true;
    return done;
  }
  const bool resuming = output_state.mode == pipeline::OutputState::Mode::kResume;
  // A resumed run plans as the stopped one did, whatever the rank count is now.
  if (resuming) so.ranks = static_cast<int>(output_state.progress.plan_ranks);
  agreed(comm, "input", [&] { source = open_source(o.input, so); });
#ifdef PM_HAVE_HBASE
  std::unique_ptr<HBaseEmbeddingWriter> hbase_writer;
  if (!o.hbase_output.empty()) {
    agreed(comm, "HBase output", [&] {
      HBaseEmbeddingWriterOptions wo;
      wo.writer.url = parse_hbase_url(o.hbase_output);
      wo.writer.client = hbase_client_options(wo.writer.url, o.tls);
      wo.column = parse_hbase_column(o.output_column);
      wo.model_sha256 = card.sha256;
      hbase_writer = std::make_unique<HBaseEmbeddingWriter>(wo);
    });
  }
  // With --dedup, the table that gets each row's groups is checked now, before any work.
  if (o.dedup && o.hbase_dedup && (hbase_input || !o.hbase_output.empty())) {
    agreed(comm, "HBase output of dedup results", [&] {
      const HBaseUrl url = parse_hbase_url(o.hbase_output.empty() ? o.input : o.hbase_output);
      const HBaseColumn col = parse_hbase_column(o.dedup_column);
      if (col.family.empty() || col.qualifier.empty())
        throw Error("--dedup-column must be family:prefix, not '" + o.dedup_column + "'");
      hbase_check_table_family(url, col.family, hbase_client_options(url, o.tls));
    });
  }
#endif

  // Rank 0 plans; everyone gets the same plan (or the same error).
  const std::string plan_bytes =
      agreed_on_root(comm, "input " + o.input, [&] { return encode_splits(source->plan()); });
  const std::vector<SplitSpec> splits = decode_splits(plan_bytes);
  const std::string plan_sha256 = sha256_hex(plan_bytes);
  // Resuming: the done splits stay in the file; only the rest is run.
  std::vector<SplitSpec> pending;
  if (resuming) {
    // The same plan and progress on every rank: the same verdict, said once.
    agreed(comm, "", [&] {
      pipeline::check_plan(o.output, output_state.progress, plan_sha256, splits.size());
    });
    for (const auto& s : splits)
      if (!output_state.progress.split_done[s.index]) pending.push_back(s);
  } else {
    pending = splits;
  }
  std::int64_t total = 0;
  for (const auto& s : pending) total = (total >= 0 && s.estimated_records >= 0) ? total + s.estimated_records : -1;

  fill_job_config(o, card, budget, total, cfg);

  if (comm.rank() == 0 && !o.quiet)
    std::fprintf(stderr, "pixelmill extract: %s, %zu splits, model %s (%s), %d rank(s) x %d compute + %d decode threads"
                         " (rank 0 may run on %d CPU(s), shared by %d rank(s))\n",
                 source->describe().c_str(), splits.size(), card.name.c_str(),
                 o.reference ? "reference kernels" : (o.bf16 ? "oneDNN bf16" : "oneDNN fp32"),
                 comm.size(), budget.compute, budget.decode, budget.cpus.allowed,
                 budget.cpus.sharers);

  // The output is written in checkpoint rounds while the run goes on (run_writer.h):
  // created (or reopened to continue it) before any work, so that a kill loses at most
  // the rows of one round.
  std::optional<h5::RunWriter> writer =
      open_run_file(comm, o, card, budget, plan_sha256, so.ranks, resuming, splits.size());
  pipeline::RankStats stats;
  // Each checkpoint round: the completed splits into the file, and their embeddings to
  // HBase; then their rows are gone from memory. Collective: every rank writes at the
  // same vote.
  HBaseEmbeddingWriter* hbase_out = nullptr;
#ifdef PM_HAVE_HBASE
  hbase_out = hbase_writer.get();
#endif
  pipeline::RunOutputSink sink(comm, writer ? &*writer : nullptr, hbase_out, stats);
  cfg.sink = &sink;
  cfg.checkpoint_seconds = o.checkpoint_seconds;
  cfg.checkpoint_bytes = static_cast<std::int64_t>(o.checkpoint_mb * 1024 * 1024);

  // Decode threads are the parallelism for OpenCV; its own pool (TBB in Debian) would
  // only compete with the engine's OpenMP threads for the rank's cores.
  cv::setNumThreads(1);
  auto outcome = pipeline::run_rank(comm, *source, pending, model, card, cfg, stats);
  const pipeline::RunOutputSink::Finished finished = sink.finish(splits.size() - pending.size());
  const std::int64_t rows_written = finished.rows;
  const std::size_t splits_done = finished.splits_done;
  const bool complete = splits_done == splits.size();

  // The summary's connection counters: the input's, and the embeddings write-back's.
  ConnectionCounters connection = source->connection_counters();
#ifdef PM_HAVE_HBASE
  if (hbase_writer) connection += hbase_writer->connection_counters();
#endif
  stats.set_connection(connection);

  pipeline::SummaryInputs in;
  in.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  in.write_seconds = sink.seconds();
  in.output = o.output;
  in.input = o.input;
  in.embedding_dim = card.embedding.dim;
  in.compute_threads = budget.compute;
  in.decode_threads = budget.decode;
  in.readers = budget.readers;
  in.rounds = outcome.rounds;
  in.cpus = budget.cpus;
  auto summary = pipeline::summarize(comm, stats, in, o.metrics_json, o.quiet);
  summary.rows = rows_written;
  summary.interrupted = !complete;
  say_how_it_ended(comm, o, complete, outcome.stopped, splits_done, splits.size());
#ifdef PM_HAVE_DEDUP
  if (o.dedup && complete) {
    DedupOptions d;
    d.input = o.output;
    d.threshold = o.threshold >= 0 ? o.threshold : card.dedup_threshold;
    d.quiet = o.quiet;
    d.hbase_write = o.hbase_dedup;
    d.hbase_output = o.hbase_output;
    d.hbase_column = o.dedup_column;
    d.tls = o.tls;
    // The join runs on the threads the extraction ran on: --threads, or the same default.
    d.threads = budget.compute;
    const DedupSummary ds = run_dedup(comm, d);
    if (comm.rank() == 0 && !o.quiet) std::printf("%s\n", format_summary(ds).c_str());
  }
#endif
  return summary;
}

}  // namespace pm
