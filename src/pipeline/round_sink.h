// Where a rank's completed splits go in checkpoint rounds: the run file (and the HBase
// write-back) in a real run (run_output_sink.h), memory in tests.
#pragma once

#include <vector>

#include "pixelmill/image_result.h"

namespace pm::pipeline {

class RoundSink {
 public:
  virtual ~RoundSink() = default;
  // One round: this rank's completed splits since the last one (possibly none), each
  // whole. Called on the rank's main thread, on every rank at the same vote, so it may be
  // collective. Takes the rows: `done` is left empty and its memory released.
  virtual void write(std::vector<SplitResults>& done) = 0;
};

}  // namespace pm::pipeline
