// Nearest rows of a run for query embeddings: the core of `pixelmill search`. The run's
// rows are partitioned over the ranks (each reads its share of the file); each rank keeps
// the best K of its share per query, and rank 0 merges them. With the run's IVF lists
// (/index, from `dedup --index ivf`), a query scores only the rows whose nearest list is
// among its `probe` nearest lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pixelmill/comm.h"

namespace pm {

struct SearchHit {
  std::int64_t row = 0;     // row of the run's /images
  float cosine = 0;
  std::string key;          // /images/key of the row
  std::int64_t group = -1;  // /dedup/group of the row (-1: the run has no /dedup)
  std::string group_key;    // key of that row ("" when none, or an older file's row)
};

struct SearchOptions {
  std::string run;            // the run's HDF5 file
  int top = 10;               // K
  double threshold = -2;      // hits below it are dropped (< -1: none dropped)
  bool use_index = true;      // use /index when the run has it
  int probe = 8;              // lists each query probes (with the index)
};

// Collective. `queries`: [q, dim] embeddings (any norm; normalised here; all zero = no
// embedding, no hits), the same on every rank. Returns on rank 0, per query, its hits best first (cosine descending, then row);
// empty vectors on the other ranks. `used_index` (rank 0) says whether /index was used.
std::vector<std::vector<SearchHit>> search_run(const Comm& comm, const SearchOptions& options,
                                               const std::vector<float>& queries, int dim,
                                               bool* used_index = nullptr);

// The same over all rows on one process: plain loops in double (the test oracle).
std::vector<std::vector<SearchHit>> search_run_reference(const SearchOptions& options,
                                                         const std::vector<float>& queries,
                                                         int dim);

}  // namespace pm
