// The dedup quality evaluation behind `pixelmill eval-dedup`: a labelled set of real
// photos and known edits of them, and precision/recall/F1 of duplicate groups against
// the labels. Single process (rank 0); the extraction and dedup in between are the
// ordinary collective jobs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pm::eval {

// The edits applied to each source photo (issue 5): each variant is a duplicate of its
// source. "copy" is a byte-identical file (an exact duplicate).
std::vector<std::string> transform_names();

struct EvalImage {
  std::string key;        // file name relative to the set's directory
  int label = 0;          // same label = duplicates of each other
  std::string transform;  // "original", "distractor" or one of transform_names()
};

struct EvalSet {
  std::string dir;
  std::vector<EvalImage> images;
  int sources = 0;
  int distractors = 0;
};

// Photos shipped by Debian packages (darknet, opencv-doc, python3-skimage when present),
// chosen so that no two are versions of one picture (no stereo pairs, no sequences).
std::vector<std::string> default_photos();

// Writes the set into `dir` (created): the first `photos.size() - distractors` photos get
// every transform; the rest appear once, as distractors. Deterministic for a seed.
EvalSet build_eval_set(const std::string& dir, const std::vector<std::string>& photos,
                       int distractors, std::uint32_t seed);

struct Scores {
  std::int64_t tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 1.0; }
  double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 1.0; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
};

struct Evaluation {
  Scores overall;                         // over all pairs of images
  std::map<std::string, Scores> by_transform;  // pairs (variant, its source photo) for
                                               // recall; pairs a variant is in, for precision
};

// Scores predicted groups (`group[i]` for the image with key `keys[i]`) against the set.
Evaluation evaluate(const EvalSet& set, const std::vector<std::string>& keys,
                    const std::vector<std::int64_t>& group);

// Groups (connected components, smallest index as id) from cosine >= threshold over
// L2-normalised rows (`ok[i]` false: the row is alone).
std::vector<std::int64_t> groups_by_cosine(const std::vector<float>& embedding, int dim,
                                           const std::vector<std::uint8_t>& ok, double threshold);
// Groups from perceptual-hash Hamming distance <= max_distance.
std::vector<std::int64_t> groups_by_hamming(const std::vector<std::uint64_t>& phash,
                                            const std::vector<std::uint8_t>& ok, int max_distance);

// A table of P/R/F1 per transform and overall for the methods given (name -> result).
std::string format_table(const std::vector<std::pair<std::string, Evaluation>>& methods);

// The whole evaluation of one run file (after extract and dedup): the groups in /dedup
// (embeddings at the run's threshold) and perceptual-hash groups at `phash_distance`,
// per transform and overall; sweeps of both thresholds; a suggested threshold (the best
// F1 among those with precision >= 0.95). `text` is the printable result (markdown).
struct RunEvaluation {
  Evaluation embedding;
  Evaluation phash;
  double threshold = 0;
  int phash_distance = 0;
  double suggested_threshold = -1;  // -1: no threshold reaches precision 0.95
  int suggested_distance = -1;
  std::int64_t images = 0;
  std::int64_t failed = 0;  // rows whose status is not ok
  std::string text;
};
RunEvaluation evaluate_run(const EvalSet& set, const std::string& h5_path, int phash_distance);

}  // namespace pm::eval
