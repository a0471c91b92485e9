// pixelmill: the one binary. Initialises MPI, wraps the world communicator once (the
// only place MPI_COMM_WORLD appears), dispatches the subcommand, and turns errors into
// one message and a non-zero exit on every rank, or into the end of the whole job.
//
// How a rank leaves on an error (see README, "When a rank fails"):
//  - pm::AgreedError: every rank has the same error at the same point (pm::agreed).
//    Rank 0 prints it once, naming the failing ranks; all ranks exit 1 together.
//  - any other error: this rank may have met it alone while the others wait in a
//    collective call, or will. It prints its own message with its rank and ends the job
//    with MPI_Abort (status 1 for a pm::Error, 3 for anything else). With one rank there
//    is nobody to wait: a pm::Error is an ordinary exit 1.
//  - a broken invariant (PM_ASSERT) or std::terminate: MPI_Abort at once, status 3.
//  - after an error, MPI_Finalize runs under a watchdog: if it does not return within
//    kFinalizeGrace (a peer is gone, or stuck where it cannot agree), MPI_Abort.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "pixelmill/agreed.h"
#include "pixelmill/comm.h"
#include "pixelmill/error.h"
#include "pixelmill/watchdog.h"

namespace {

constexpr int kExitError = 1;
constexpr int kExitInternal = 3;

// How long a rank leaving on an error waits in MPI_Finalize for the others. After an
// agreed error they arrive within milliseconds; 30 s also covers a slow shared file
// system flushing HDF5 metadata, and is short next to a job's time limit.
constexpr std::chrono::seconds kFinalizeGrace{30};

int g_rank = 0;  // this rank in the world, for messages printed on the way out

// Ends every rank of the job. Called when this rank cannot leave together with the
// others; MPI_Abort asks the launcher (mpirun, srun) to kill all processes.
[[noreturn]] void end_job(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; if it ever did, still never hang
}

// PM_ASSERT: a bug. Nothing is unwound: the destructors could enter collective calls.
void on_broken_invariant(const std::string& message) {
  std::fprintf(stderr, "pixelmill: rank %d: %s\n", g_rank, message.c_str());
  end_job(kExitInternal);
}

// std::terminate: an exception that escaped a thread, a std::thread left joinable.
// By default the process would die of SIGABRT with "terminate called ..." and no rank.
void on_terminate() {
  std::string what = "terminate called";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what += " after an exception: " + std::string(x.what());
    } catch (...) {
      what += " after an unknown exception";
    }
  }
  std::fprintf(stderr, "pixelmill: rank %d: internal error: %s\n", g_rank, what.c_str());
  end_job(kExitInternal);
}

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
    {"search", pm::app::cmd_search, "the nearest rows of a run for query images (JSON lines)"},
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
  // Only each rank's main thread calls MPI; worker threads never do (the watchdog's
  // MPI_Abort aside: see end_job and kFinalizeGrace).
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rc = 0;
  {
    pm::Comm world(MPI_COMM_WORLD);
    g_rank = world.rank();
    pm::set_fatal_handler(on_broken_invariant);
    std::set_terminate(on_terminate);
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
        } catch (const pm::AgreedError& e) {
          // Every rank holds this same message (it names the ranks that failed).
          if (root) std::fprintf(stderr, "pixelmill %s: error: %s\n", cmd->name, e.what());
          rc = kExitError;
        } catch (const pm::Error& e) {
          if (world.size() == 1) {
            std::fprintf(stderr, "pixelmill %s: error: %s\n", cmd->name, e.what());
            rc = kExitError;
          } else {
            // Not agreed: the other ranks may be waiting for this one in a collective.
            std::fprintf(stderr, "pixelmill %s: rank %d: error: %s\n", cmd->name, world.rank(),
                         e.what());
            end_job(kExitError);
          }
        } catch (const std::exception& e) {
          std::fprintf(stderr, "pixelmill %s: rank %d: unexpected error: %s\n", cmd->name,
                       world.rank(), e.what());
          end_job(kExitInternal);
        } catch (...) {
          std::fprintf(stderr, "pixelmill %s: rank %d: unexpected error (not a std::exception)\n",
                       cmd->name, world.rank());
          end_job(kExitInternal);
        }
      }
    }
  }
  if (rc == 0) {
    MPI_Finalize();
    return rc;
  }
  // Leaving on an error (or a stop): the other ranks are expected in MPI_Finalize too.
  // If they do not come — a peer is gone, or stuck in a call this rank will never make —
  // this rank would wait forever; the watchdog ends the job instead. Its MPI_Abort runs
  // on the watchdog's thread while the main thread is inside MPI_Finalize, which
  // MPI_THREAD_FUNNELED does not cover; Open MPI's abort only signals the launcher and
  // exits, and ending the job is all that is left to do.
  {
    const pm::Watchdog watchdog(kFinalizeGrace, [rc] {
      std::fprintf(stderr,
                   "pixelmill: rank %d: the other ranks did not finish within %lld s of this "
                   "rank's exit; ending the job\n",
                   g_rank, static_cast<long long>(kFinalizeGrace.count()));
      end_job(rc);
    });
    MPI_Finalize();
  }
  return rc;
}
