#include "thread_budget.h"

#include <algorithm>

namespace pm::pipeline {

ThreadBudget plan_threads(const Comm& comm, int requested_compute, int requested_decode,
                          int requested_readers) {
  ThreadBudget b;
  b.cpus = rank_cpus(comm);
  b.compute = requested_compute > 0 ? requested_compute : b.cpus.share;
  // Decoding is a small share of the work next to the network; one decode thread per
  // two compute threads keeps inference fed, and at least one always runs.
  b.decode = requested_decode > 0 ? requested_decode : std::max(1, (b.compute + 1) / 2);
  b.readers = std::max(1, requested_readers);
  return b;
}

}  // namespace pm::pipeline
