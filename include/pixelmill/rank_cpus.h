// The CPUs a rank may keep busy: where every default thread count starts (extract's
// compute threads, dedup's matmul threads). Ranks × threads must not exceed the CPUs
// the ranks may run on, and under Slurm (--cpu-bind, a job cpuset) or mpirun's binding
// those are fewer than the node's cores.
#pragma once

#include "pixelmill/comm.h"

namespace pm {

struct RankCpus {
  int allowed = 1;     // CPUs this rank may run on (its affinity mask, pm::allowed_cpus)
  int sharers = 1;     // ranks on this node whose CPUs overlap these, this one included
  int node_ranks = 1;  // ranks of the communicator on this node
  int share = 1;       // allowed / sharers, at least 1: the default threads per rank
};

// Collective over `comm`: each rank's CPU set is gathered among the ranks of its node
// and pm::cpu_share divides it. Without any binding that is the node's cores / ranks on
// the node, as before affinity was read.
RankCpus rank_cpus(const Comm& comm);

}  // namespace pm
