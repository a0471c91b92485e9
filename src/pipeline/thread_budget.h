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
  int decode = 1;   // decode/preprocess threads decoding at once at the start
  // Decode threads started (0: as many as `decode`); with decode_balanced, how many
  // decode at once follows the measured stage costs, from 1 to that (decode_balancer.h).
  int decode_max = 0;
  bool decode_balanced = false;
  int decode_started() const { return decode_max > decode ? decode_max : decode; }
  int readers = 1;  // source reader threads (I/O bound: not counted against cores)
  RankCpus cpus;    // what the defaults were computed from
};

// Collective (reads the node's CPU sets even when both counts are given, so that every
// rank takes the same path). A request > 0 is taken as given (and fixed). Without a
// decode request: as many decode threads as compute threads, half of them (at least one)
// decoding at first, the rest balanced from the measured costs.
ThreadBudget plan_threads(const Comm& comm, int requested_compute, int requested_decode,
                          int requested_readers);

// A fixed split: decode threads = those decoding at the start (extract --detector, whose
// decode threads each own a detector sized by the split).
void fix_decode_threads(ThreadBudget& b);

}  // namespace pm::pipeline
