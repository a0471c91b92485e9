// pm::invariant_failed: the end of a process that found a bug (see error.h).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pixelmill/error.h"

namespace pm {

namespace {

std::atomic<FatalHandler> g_handler{nullptr};

}  // namespace

void set_fatal_handler(FatalHandler handler) { g_handler.store(handler); }

void invariant_failed(const char* file, int line, const std::string& message) {
  const std::string text =
      std::string("internal error (a bug): ") + file + ":" + std::to_string(line) + ": " + message;
  if (FatalHandler handler = g_handler.load()) handler(text);
  // No handler (a test, a tool without MPI), or one that returned against its contract.
  std::fprintf(stderr, "pixelmill: %s\n", text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace pm
