// Subcommands whose module is not part of this build: a clear message instead of a
// link error.
#include "commands.h"
#include "pixelmill/error.h"

namespace pm::app {

#define PM_MISSING(fn, name)                                                   \
  int fn(const Args&, const Comm&) {                                           \
    throw Error("'" name "' is not available in this build of pixelmill");     \
  }

#ifdef PM_MISSING_MODEL
PM_MISSING(cmd_model, "model")
#endif
#ifdef PM_MISSING_INGEST
PM_MISSING(cmd_ingest, "ingest")
#endif
#ifdef PM_MISSING_DEDUP
PM_MISSING(cmd_dedup, "dedup")
#endif
#ifdef PM_MISSING_EVAL_DEDUP
PM_MISSING(cmd_eval_dedup, "eval-dedup")
#endif
#ifdef PM_MISSING_REPORT
PM_MISSING(cmd_report, "report")
#endif
#ifdef PM_MISSING_SEARCH
PM_MISSING(cmd_search, "search")
#endif

}  // namespace pm::app
