// pixelmill: the one binary. Initialises MPI, wraps the world communicator once (the
// only place MPI_COMM_WORLD appears), dispatches the subcommand, and turns errors into
// one message and a non-zero exit on every rank.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "pixelmill/comm.h"
#include "pixelmill/error.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const pm::app::Args&, const pm::Comm&);
  const char* help;
};

const Command kCommands[] = {
    {"extract", pm::app::cmd_extract, "images -> features in one parallel HDF5 file (the main job)"},
    {"model", pm::app::cmd_model, "inspect, run and benchmark ONNX models on the engine"},
    {"ingest", pm::app::cmd_ingest, "load a directory of images into an HBase table"},
    {"dedup", pm::app::cmd_dedup, "exact and near-duplicate groups of an extract output"},
    {"eval-dedup", pm::app::cmd_eval_dedup, "measure dedup precision/recall on a labelled set"},
    {"report", pm::app::cmd_report, "a self-contained HTML report of duplicate groups"},
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "pixelmill: image features and duplicate detection at data-centre scale.\n"
               "Run under mpirun/srun; every rank runs the same command.\n\n"
               "Usage: pixelmill COMMAND [OPTIONS]   (pixelmill COMMAND --help for its flags)\n\n"
               "Commands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-12s %s\n", c.name, c.help);
  std::fprintf(out, "\nExample:\n  mpirun -np 4 pixelmill extract --input dir:photos "
                    "--model models/sscd_distilled.onnx --output run.h5\n");
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  // Only each rank's main thread calls MPI; worker threads never do.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rc = 0;
  {
    pm::Comm world(MPI_COMM_WORLD);
    const bool root = world.rank() == 0;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      if (root) usage(args.empty() ? stderr : stdout);
      rc = args.empty() ? 2 : 0;
    } else if (args[0] == "--version") {
      if (root) std::printf("pixelmill %s\n", PM_VERSION);
    } else {
      const Command* cmd = nullptr;
      for (const auto& c : kCommands)
        if (args[0] == c.name) cmd = &c;
      if (!cmd) {
        if (root) {
          std::fprintf(stderr, "pixelmill: unknown command '%s'\n\n", args[0].c_str());
          usage(stderr);
        }
        rc = 2;
      } else {
        const pm::app::Args rest(args.begin() + 1, args.end());
        try {
          rc = cmd->run(rest, world);
        } catch (const pm::Error& e) {
          // Configuration and setup errors are raised identically on every rank (options
          // are checked everywhere, runtime failures are agreed collectively): rank 0 speaks.
          if (root) std::fprintf(stderr, "pixelmill %s: error: %s\n", cmd->name, e.what());
          rc = 1;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "pixelmill %s: rank %d: unexpected error: %s\n", cmd->name,
                       world.rank(), e.what());
          std::fflush(stderr);
          MPI_Abort(MPI_COMM_WORLD, 3);
        }
      }
    }
  }
  MPI_Finalize();
  return rc;
}
