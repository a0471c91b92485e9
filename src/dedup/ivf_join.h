// The IVF join: the distributed counterpart of ring_self_join/ring_cross_join whose work
// grows like N * (N / L) * P instead of N^2. A quantizer of L lists is trained by k-means
// on a sample (train_quantizer: the sums and counts of each iteration merged with one
// allreduce), every row is stored in its nearest list ("home") and probes its P nearest
// lists; lists are owned by ranks (balanced by stored x probing rows), and each owner joins
// its lists' stored rows with the rows that probe them (BlockJoiner, oneDNN matmul),
// one probe slot per wave, each wave sent in chunks of JoinConfig::block_rows rows per rank
// from the rows stored in the sender's lists, so that a rank holds its lists' stored rows,
// one wave's visitors and one chunk (its rows as they came are freed once stored).
// A pair is found when home(x) is among y's probes or home(y) among x's; the same border
// rule as the exact join decides it, so every pair the IVF join keeps the exact join keeps.
#pragma once

#include "ivf_lists.h"
#include "pixelmill/comm.h"
#include "ring_join.h"

namespace pm::dedup {

// Collective. Trains on a sample of the union of all ranks' `parts` (rows with node ids,
// any split): the same quantizer for any rank count (train_quantizer_reference, on the
// union, is its oracle).
Quantizer train_quantizer(const Comm& comm, const std::vector<const JoinRows*>& parts,
                          const IvfConfig& config);

// The `probe` nearest lists of every row of each of `parts` ([rows, probe] per part).
std::vector<std::vector<std::int32_t>> probe_parts(const Quantizer& q, const std::vector<const JoinRows*>& parts,
                                                   int probe);
// Collective: the largest list's share of the rows over the mean (1 = perfectly even), with
// every row in its nearest list (the first of its probes, from probe_parts).
double list_imbalance(const Comm& comm, int lists, const std::vector<std::vector<std::int32_t>>& probes,
                      int probe);

struct IvfStats {
  double flops = 0;           // matmul flops of probing and joining on this rank
  std::int64_t records = 0;   // rows received as stored or probing rows on this rank
  std::int64_t rechecked = 0;  // candidate scores recomputed exactly (BlockJoiner::rechecked)
  std::vector<std::int64_t> list_sizes;  // stored rows per list, all ranks (the same everywhere)
  std::vector<std::int32_t> fresh_home;  // the nearest list of each of `fresh`'s rows
};

// Collective. Pairs among the union of `fresh` and `older` rows (node ids; older ids below
// every fresh id) that share a list as above, except older x older pairs; each pair once,
// on the rank that owns the list it was found in. `probes`: probe_parts(q, {&older, &fresh},
// probe) when the caller has them already (empty: computed here). The rows are taken, and
// freed as soon as each is in its home list: the visiting waves are sent from the lists.
std::vector<ScoredPair> ivf_join(const Comm& comm, const Quantizer& q, JoinRows fresh,
                                 JoinRows older, const JoinConfig& config, int probe,
                                 IvfStats* stats = nullptr,
                                 std::vector<std::vector<std::int32_t>> probes = {});

}  // namespace pm::dedup
