// `pixelmill eval-dedup`: builds the labelled set from Debian's photos, runs the main job
// (pm::run_extract) and dedup on it, and prints precision/recall/F1 per edit for the
// embeddings and the perceptual hash, with a suggested threshold.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli.h"
#include "commands.h"
#include "install_layout.h"
#include "pixelmill/agreed.h"
#include "pixelmill/dedup.h"
#include "pixelmill/dedup_eval.h"
#include "pixelmill/error.h"
#include "pixelmill/extract.h"
#include "pixelmill/model_card.h"
#include "pixelmill/model_precision.h"
#include "precision_flags.h"
#include "pixelmill/limits.h"

namespace pm::app {

// The file in --workdir that marks its images/ as eval-dedup's own, safe to replace.
constexpr const char* kEvalSetMarker = ".pixelmill-eval-set";

int cmd_eval_dedup(const Args& args, const Comm& comm) {
  std::string workdir, model, markdown, precision;
  double threshold = -1;
  int phash_distance = 10, distractors = 12, batch = 16, threads = 0;
  unsigned seed = 5;
  po::options_description desc("eval-dedup options");
  desc.add_options()
      ("workdir,w", po::value(&workdir)->default_value("eval-dedup"),
       "directory for the generated images and the run file (created)")
      ("model,m", po::value(&model)->default_value(default_model()),
       "ONNX model (its card is the .json beside it), or the card itself")
      ("threshold,t", po::value(&threshold)->default_value(-1),
       "dedup cosine threshold (negative = the model card's)")
      ("phash-distance", po::value(&phash_distance)->default_value(10),
       "perceptual-hash Hamming distance counted as a duplicate")
      ("distractors", po::value(&distractors)->default_value(12),
       "source photos used once, without edits")
      ("seed", po::value(&seed)->default_value(5), "seed of the random edits")
      ("batch,b", po::value(&batch)->default_value(16), "images per inference batch")
      ("threads", po::value(&threads)->default_value(0), "compute threads per rank (0 = auto)")
      ("markdown", po::value(&markdown)->default_value(""), "also write the result to this file");
  add_precision_flags(desc, precision);
  auto vm = parse_command(comm, "eval-dedup", "[--workdir DIR] [--threshold T]", desc, args);
  if (!vm) return 0;
  agreed(comm, "", [&] {
    check_threshold(threshold);
    if (phash_distance < 0 || phash_distance > 64)
      throw Error("--phash-distance must be in 0..64 bits, not " + std::to_string(phash_distance));
    if (distractors < 0) throw Error("--distractors cannot be negative, got " + std::to_string(distractors));
    if (batch < 1 || batch > kMaxBatch)
      throw Error("--batch must be in 1.." + std::to_string(kMaxBatch) + ", not " + std::to_string(batch));
    if (threads < 0 || threads > kMaxThreadsPerRank)
      throw Error("--threads must be in 0.." + std::to_string(kMaxThreadsPerRank) + ", not " +
                  std::to_string(threads));
  });

  const std::string images = std::filesystem::absolute(workdir + "/images").lexically_normal().string();
  const std::string run_file = workdir + "/eval.h5";
  // The model is checked before anything is made or removed.
  agreed(comm, "", [&] {
    (void)resolve_model(model);
    (void)parse_precision_request(precision);
  });
  eval::EvalSet set;
  // Rank 0 builds the set; the others wait for its verdict. A set made by an earlier run
  // (it carries the marker) is replaced; anything else at that path is left alone.
  agreed_on_root(comm, "eval-dedup: building the labelled set", [&] {
    namespace fs = std::filesystem;
    // Beside images/, not in it: everything in it is an input of the evaluation run.
    const fs::path marker = fs::path(images).parent_path() / kEvalSetMarker;
    if (fs::exists(images) && !fs::exists(marker))
      throw Error(images + " exists and was not made by eval-dedup: choose another --workdir, "
                  "or remove it yourself");
    fs::remove_all(images);
    set = eval::build_eval_set(images, eval::default_photos(), distractors, seed);
    std::ofstream(marker) << "made by pixelmill eval-dedup; replaced by its next run\n";
    return std::string();
  });

  ExtractOptions eo;
  eo.input = "dir:" + images;
  eo.output = run_file;
  eo.model = model;
  eo.precision = precision;
  eo.batch = batch;
  eo.threads = threads;
  eo.quiet = true;
  eo.command_line = "pixelmill eval-dedup (extract)";
  const ExtractSummary es = run_extract(comm, eo);

  DedupOptions d;
  d.input = run_file;
  d.threshold = threshold;
  d.quiet = true;
  const DedupSummary ds = run_dedup(comm, d);

  agreed_on_root(comm, "eval-dedup: scoring", [&] {
    const eval::RunEvaluation ev = eval::evaluate_run(set, run_file, phash_distance);
    std::printf("%s", ev.text.c_str());
    std::printf("\nextract: %lld images in %.1f s; dedup: %lld pairs, %lld groups\n",
                static_cast<long long>(es.records), es.seconds, static_cast<long long>(ds.pairs),
                static_cast<long long>(ds.groups));
    if (!markdown.empty()) {
      std::ofstream out(markdown);
      if (!(out << ev.text)) throw Error("cannot write --markdown file " + markdown);
    }
    return std::string();
  });
  return 0;
}

}  // namespace pm::app
