// How many threads a rank may use. The default compute budget is the CPUs this rank may
// run on, divided among the ranks of its node that share them (pm::rank_cpus): the
// task's CPUs under srun --cpu-bind or mpirun's binding, the node's cores / ranks on
// the node without any binding. So ranks × threads never oversubscribe silently.
#pragma once

#include "pixelmill/comm.h"
#include "pixelmill/rank_cpus.h"

namespace pm::pipeline {

struct ThreadBudget {
  int compute = 1;  // OpenMP threads for the engine
  int decode = 1;   // decode/preprocess threads
  int readers = 1;  // source reader threads (I/O bound: not counted against cores)
  RankCpus cpus;    // what the defaults were computed from
};

// Collective (reads the node's CPU sets even when both counts are given, so that every
// rank takes the same path). A request > 0 is taken as given.
ThreadBudget plan_threads(const Comm& comm, int requested_compute, int requested_decode,
                          int requested_readers);

}  // namespace pm::pipeline
