// How many threads a rank may use. Ranks on one node share its cores: the default
// compute budget is the node's cores divided by the ranks on that node, so ranks ×
// threads never oversubscribe silently.
#pragma once

#include "pixelmill/comm.h"

namespace pm::pipeline {

struct ThreadBudget {
  int compute = 1;  // OpenMP threads for the engine
  int decode = 1;   // decode/preprocess threads
  int readers = 1;  // source reader threads (I/O bound: not counted against cores)
  int node_ranks = 1;
  int node_cores = 1;
};

ThreadBudget plan_threads(const Comm& comm, int requested_compute, int requested_decode,
                          int requested_readers);

}  // namespace pm::pipeline
