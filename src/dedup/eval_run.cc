// evaluate_run: scores one run file against the labelled set and sweeps the thresholds.
#include <cstdio>
#include <sstream>

#include "pixelmill/dedup_eval.h"
#include "pixelmill/hdf5_io.h"

namespace pm::eval {

namespace {

// Highest F1 among the settings with precision >= 0.95; ties go to the later setting.
template <class T>
T pick(const std::vector<std::pair<T, Scores>>& sweep, T none) {
  T best = none;
  double best_f1 = -1;
  for (const auto& [v, s] : sweep) {
    if (s.precision() >= 0.95 && s.f1() >= best_f1) {
      best_f1 = s.f1();
      best = v;
    }
  }
  return best;
}

}  // namespace

RunEvaluation evaluate_run(const EvalSet& set, const std::string& h5_path, int phash_distance) {
  RunEvaluation out;
  const std::int64_t n = h5::row_count(h5_path);
  const h5::ImageRows rows = h5::read_images(h5_path, 0, n, true);
  const auto group = h5::read_dedup_groups(h5_path, 0, n).group;
  out.threshold = h5::read_dedup_info(h5_path).threshold;
  out.phash_distance = phash_distance;
  out.images = n;
  std::vector<std::uint8_t> ok(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    ok[i] = rows.status[i] == 0;
    if (!ok[i]) ++out.failed;
  }
  out.embedding = evaluate(set, rows.keys, group);
  out.phash = evaluate(set, rows.keys, groups_by_hamming(rows.phash, ok, phash_distance));

  std::vector<std::pair<double, Scores>> cos_sweep;
  for (double t = 0.40; t < 0.9751; t += 0.025)
    cos_sweep.emplace_back(t, evaluate(set, rows.keys,
                                       groups_by_cosine(rows.embedding, rows.embedding_dim, ok, t))
                                  .overall);
  std::vector<std::pair<int, Scores>> ham_sweep;
  for (int h = 0; h <= 24; h += 2)
    ham_sweep.emplace_back(h, evaluate(set, rows.keys, groups_by_hamming(rows.phash, ok, h)).overall);
  out.suggested_threshold = pick(cos_sweep, -1.0);
  out.suggested_distance = pick(ham_sweep, -1);

  std::ostringstream o;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "eval-dedup: %lld images (%d photos with %zu edits each, %d distractors), %lld failed\n\n",
                static_cast<long long>(n), set.sources, transform_names().size(), set.distractors,
                static_cast<long long>(out.failed));
  o << buf;
  std::snprintf(buf, sizeof buf, "embedding: cosine >= %.3f (the run's /dedup groups); phash: Hamming <= %d\n\n",
                out.threshold, phash_distance);
  o << buf;
  o << format_table({{"embedding", out.embedding}, {"phash", out.phash}});
  o << "\nPer transform: R = share of edited copies grouped with their source photo; P = those "
       "links / (those links + wrong links the copies are in). Overall: over all pairs of images.\n";
  o << "\nembedding threshold sweep (overall, groups):\n\n| cosine | P | R | F1 |\n|---:|---:|---:|---:|\n";
  for (const auto& [t, s] : cos_sweep) {
    std::snprintf(buf, sizeof buf, "| %.3f | %.3f | %.3f | %.3f |\n", t, s.precision(), s.recall(), s.f1());
    o << buf;
  }
  o << "\nphash distance sweep (overall, groups):\n\n| Hamming | P | R | F1 |\n|---:|---:|---:|---:|\n";
  for (const auto& [h, s] : ham_sweep) {
    std::snprintf(buf, sizeof buf, "| %d | %.3f | %.3f | %.3f |\n", h, s.precision(), s.recall(), s.f1());
    o << buf;
  }
  if (out.suggested_threshold >= 0) {
    std::snprintf(buf, sizeof buf, "\nsuggested embedding threshold: %.3f (best F1 with precision >= 0.95)\n",
                  out.suggested_threshold);
  } else {
    std::snprintf(buf, sizeof buf, "\nno embedding threshold reaches precision 0.95 on this set\n");
  }
  o << buf;
  if (out.suggested_distance >= 0) {
    std::snprintf(buf, sizeof buf, "suggested phash Hamming distance: %d\n", out.suggested_distance);
    o << buf;
  }
  out.text = o.str();
  return out;
}

}  // namespace pm::eval
