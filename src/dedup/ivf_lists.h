// The coarse quantizer of the IVF join: L unit-norm centroids ("lists"), each row's P
// nearest lists by cosine, and the single-process parts of their training (spherical
// k-means). Every decision a float matmul makes near a tie is re-decided in double in a
// fixed order (as the join does at the threshold), so probes and assignments do not depend
// on how the rows were blocked or split over ranks. The `_reference` functions are the
// plain double loops used as test oracles.
#pragma once

#include <cstdint>
#include <vector>

#include "ring_join.h"

namespace pm::dedup {

struct Quantizer;

struct IvfConfig {
  int lists = 0;                       // L; 0 = the exact join (no quantizer)
  int probe = 8;                       // P: lists each row probes (its home list first)
  int iterations = 10;                 // Lloyd iterations of the k-means
  std::int64_t train_per_list = 64;    // sample rows per list for the training
  std::uint64_t seed = 20261130;       // picks the sample and the initial centroids
  // Lists of an earlier run to reuse (nullptr: train). They are kept while the largest list
  // holds at most `max_imbalance` times the mean rows per list, else trained again.
  const Quantizer* reuse = nullptr;
  double max_imbalance = 4.0;
};

struct Quantizer {
  int dim = 0;
  int lists = 0;
  std::vector<float> centroids;        // [lists, dim], unit norm
  std::int64_t sample_rows = 0;        // rows the k-means ran on
  int iterations = 0;                  // Lloyd iterations run
  int reseeded = 0;                    // empty lists given a new centroid, all iterations
  double flops = 0;                    // matmul flops of the training on this rank
};

// Margin within which two scores are re-decided in double (float error of a unit-vector
// dot product is far below it).
inline constexpr float kProbeBand = 1e-4f;

// The sample key of node `id`: a bijection of 64-bit integers, so keys never collide.
std::uint64_t sample_key(std::int64_t id, std::uint64_t seed);
// Whether node `id` is in a training sample of `fraction` of the rows.
bool in_sample(std::int64_t id, std::uint64_t seed, double fraction);

// The `probe` nearest lists of each row of `rows` ([n, probe], nearest first: exact score
// descending, then list id ascending). oneDNN matmul in blocks; candidates near the
// probe-th score re-decided in double.
std::vector<std::int32_t> probe_lists(const Quantizer& q, const float* rows, std::int64_t n,
                                      int probe);
std::vector<std::int32_t> probe_lists_reference(const Quantizer& q, const float* rows,
                                                std::int64_t n, int probe);

// Fixed-point sums of unit vectors (2^32 per unit): integer sums are exact and associative,
// so the centroids are the same whichever rank added which row.
inline constexpr double kFixedOne = 4294967296.0;
void add_fixed(const float* row, int dim, std::int64_t* sums);
// Centroid from a list's fixed-point sums: the normalised mean. False when it is zero.
bool centroid_from_sums(const std::int64_t* sums, int dim, float* out);

// The whole training on one process (oracle of train_quantizer): rows [n, dim] with node
// ids `ids`, the same sample, seeding, fixed-point means and empty-list rule.
Quantizer train_quantizer_reference(const JoinRows& rows, const IvfConfig& config,
                                    std::int64_t total_rows);

// Pairs {x, y} (x != y, not both below `older_end`) with cosine >= threshold that the IVF
// join finds: home(x) among y's probes or home(y) among x's. Plain loops (oracle of ivf_join).
std::vector<ScoredPair> ivf_pairs_reference(const JoinRows& rows, const Quantizer& q, int probe,
                                            float threshold, std::int64_t older_end);

}  // namespace pm::dedup
