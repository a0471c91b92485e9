#include "thread_budget.h"

#include <algorithm>

namespace pm::pipeline {

ThreadBudget plan_threads(const Comm& comm, int requested_compute, int requested_decode,
                          int requested_readers) {
  ThreadBudget b;
  b.cpus = rank_cpus(comm);
  b.compute = requested_compute > 0 ? requested_compute : b.cpus.share;
  if (requested_decode > 0) {
    b.decode = b.decode_max = requested_decode;
  } else {
    // Half the compute threads decode at first (at least one); up to as many as the
    // compute threads once the measured costs say decoding needs them.
    b.decode = std::max(1, (b.compute + 1) / 2);
    b.decode_max = std::max(b.decode, b.compute);
    b.decode_balanced = b.decode_max > 1;
  }
  b.readers = std::max(1, requested_readers);
  return b;
}

void fix_decode_threads(ThreadBudget& b) {
  b.decode_max = b.decode;
  b.decode_balanced = false;
}

}  // namespace pm::pipeline
