// Private to pm_dedup: what the dedup drivers (run_dedup, run_dedup_crops) set up the same
// way before a join: the matmul threads, the join's configuration, the IVF list count.
#pragma once

#include <omp.h>

#include "block_join.h"
#include "ivf_lists.h"
#include "pixelmill/comm.h"
#include "pixelmill/dedup.h"
#include "pixelmill/rank_cpus.h"

namespace pm::dedup {

// Sets the OpenMP (hence oneDNN) thread count for the join and restores the caller's.
class JoinThreads {
 public:
  JoinThreads(const Comm& comm, int requested) : saved_(omp_get_max_threads()) {
    // The default: this rank's CPUs, split with the ranks of its node that share them.
    // Collective, but every rank has the same `requested` (the options are agreed).
    const int threads = requested > 0 ? requested : rank_cpus(comm).share;
    omp_set_num_threads(threads);
    threads_ = threads;
  }
  ~JoinThreads() { omp_set_num_threads(saved_); }
  JoinThreads(const JoinThreads&) = delete;
  JoinThreads& operator=(const JoinThreads&) = delete;
  int threads() const { return threads_; }

 private:
  int saved_;
  int threads_ = 1;
};

// Threshold, block rows, tile and precision from the options; bf16 falls back to fp32 on
// every rank when some rank lacks it (said once). Sets s.join_precision. Collective.
JoinConfig join_config(const Comm& comm, const DedupOptions& options, DedupSummary& s);

// options.index == "ivf": lists (about sqrt(total) when not given), probe, iterations and
// the imbalance bound into `ivf`; nothing for the exact join.
void size_ivf(const DedupOptions& options, std::int64_t total, IvfConfig& ivf);

}  // namespace pm::dedup
