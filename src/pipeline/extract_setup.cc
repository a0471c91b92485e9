// Setup of `extract` before any work: the options and paths checked, the source options,
// the model loaded and checked against its card, each rank's job configuration.
#include "extract_setup.h"

#include "detection_setup.h"
#include "precision_setup.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/limits.h"
#include "pixelmill/output_layout.h"

#ifdef PM_HAVE_DEDUP
#include "pixelmill/dedup.h"
#endif

namespace pm::pipeline {

namespace {

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

}  // namespace

// Checks of the options alone: the same options give the same verdict on every rank.
void check_options(const ExtractOptions& o) {
  if (o.input.empty()) throw Error("--input is required (dir:PATH, list:FILE or hbase://HOST:PORT/TABLE)");
  if (o.output.empty() && o.hbase_output.empty()) throw Error("--output is required");
  if (o.model.empty()) throw Error("--model is required");
  (void)parse_precision_request(o.precision);
  if (o.batch < 1 || o.batch > kMaxBatch)
    throw Error("--batch must be in 1.." + std::to_string(kMaxBatch) + ", not " + std::to_string(o.batch));
  if (o.threads < 0 || o.threads > kMaxThreadsPerRank)
    throw Error("--threads must be in 0.." + std::to_string(kMaxThreadsPerRank) +
                " (0 = this rank's share of its CPUs), not " + std::to_string(o.threads));
  if (o.decode_threads < 0 || o.decode_threads > kMaxThreadsPerRank)
    throw Error("--decode-threads must be in 0.." + std::to_string(kMaxThreadsPerRank) +
                " (0 = balanced), not " + std::to_string(o.decode_threads));
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
  check_detection_options(o);
  if (!o.detector.empty() && o.output.empty())
    throw Error("--detector needs an HDF5 --output (objects are written to /detections)");
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

LoadedModel load_model(const Comm& comm, const ExtractOptions& o, const CpuCapabilities& cpu,
                       int compute_threads) {
  LoadedModel m;
  ResolvedModel r;
  agreed(comm, "model", [&] {
    // The ONNX file or its card, and --precision against the card: maybe its sibling.
    r = resolve_model_precision(o.model, parse_precision_request(o.precision), cpu, IfNoInt8::kRefuse);
    if (r.files.card.detector)
      throw Error("--model " + o.model + " is a detector; give it as --detector (--model embeds whole images)");
  });
  check_resolved_alike(comm, "model", r);
  agreed(comm, "model", [&] {
    m.card = r.files.card;
    m.onnx = r.files.onnx;
    m.precision = r.choice;
    engine::EngineOptions eo;
    eo.reference = o.reference;
    eo.precision = engine_precision(r.choice, cpu);
    eo.threads = compute_threads;
    m.model = engine::Model::load(r.files.onnx, eo);
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
  if (r.choice.measure_bf16 && !o.reference) {
    engine::EngineOptions eo;
    eo.threads = compute_threads;
    const std::string resumed = resumed_precision(comm, o);
    m = keep_faster_of_int8_and_bf16(comm, std::move(m), r.given_card, cpu, eo, o.batch, resumed);
  }
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

}  // namespace pm::pipeline
