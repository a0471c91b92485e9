// Subcommands of the `pixelmill` binary. main() initialises MPI, wraps the world
// communicator once, and dispatches `pixelmill <name> ARGS...` to cmd_<name>(ARGS, comm).
// Each returns the process exit code; configuration errors throw pm::Error, which main
// reports once (rank 0) and turns into a non-zero exit on every rank.
#pragma once

#include <string>
#include <vector>

#include "pixelmill/comm.h"

namespace pm::app {

using Args = std::vector<std::string>;

int cmd_extract(const Args& args, const Comm& comm);     // src/app/cmd_extract.cc
int cmd_model(const Args& args, const Comm& comm);       // src/app/cmd_model.cc (engine)
int cmd_ingest(const Args& args, const Comm& comm);      // src/app/cmd_ingest.cc (hbase)
int cmd_dedup(const Args& args, const Comm& comm);       // src/app/cmd_dedup.cc (dedup)
int cmd_eval_dedup(const Args& args, const Comm& comm);  // src/app/cmd_eval_dedup.cc (dedup)
int cmd_report(const Args& args, const Comm& comm);      // src/app/cmd_report.cc (dedup)
int cmd_search(const Args& args, const Comm& comm);      // src/app/cmd_search.cc (dedup)

}  // namespace pm::app
