// The CPUs a process may run on, and how many of them one rank should use. Thread
// budgets start here instead of at the machine's core count: under Slurm
// (--cpu-bind, a cgroup cpuset) or mpirun's binding a rank may run on a few of the
// node's CPUs only, and threads beyond those time-share them.
#pragma once

#include <vector>

namespace pm {

// The ids of the CPUs this process may run on (sched_getaffinity), ascending, never empty.
// Without any restriction these are all online CPUs; if the mask cannot be read, the
// first std::thread::hardware_concurrency() ids (at least one). Not collective.
std::vector<int> allowed_cpus();

// How many ranks of a node (their CPU sets `node_sets`, this rank's among them) run on
// CPUs of `mine`: those whose sets overlap it, at least 1. Sets ascending.
int cpu_sharers(const std::vector<int>& mine,
                const std::vector<std::vector<int>>& node_sets);

// How many threads a rank with CPU set `mine` may run without oversubscribing: its CPUs
// divided among its cpu_sharers, at least 1. Ranks bound to disjoint CPUs (srun
// --cpu-bind) each get all of theirs; ranks sharing one set (no binding, a job cpuset)
// split it evenly, which is the node's cores / ranks on the node when nothing is
// restricted. Pure: sets ascending.
int cpu_share(const std::vector<int>& mine, const std::vector<std::vector<int>>& node_sets);

}  // namespace pm
