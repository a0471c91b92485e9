// The output of a real `extract` run, behind RoundSink: each round's completed splits go
// to HBase (--output-hbase: the embeddings write-back) and then into the run file
// (h5::RunWriter), whose round releases the rows. Collective, like the writers it drives:
// every rank calls write() at the same vote and finish() once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/run_writer.h"
#include "round_sink.h"
#include "stats.h"

namespace pm {
class HBaseEmbeddingWriter;  // pixelmill/hbase.h, in builds with HBase support
}

namespace pm::pipeline {

class RunOutputSink final : public RoundSink {
 public:
  // `file`: the run file (null without --output); `hbase`: the write-back (null without
  // --output-hbase; always null in builds without HBase). Neither is owned. The time spent
  // writing goes to `stats` as the write stage.
  RunOutputSink(const Comm& comm, h5::RunWriter* file, HBaseEmbeddingWriter* hbase,
                RankStats& stats);

  void write(std::vector<SplitResults>& done) override;

  struct Finished {
    std::int64_t rows = 0;        // rows in the file (0 without one)
    std::size_t splits_done = 0;  // planned splits now done, over all ranks and runs
  };
  // Ends the output: the write-back flushed, the file finished (in split order when every
  // split is in; else left for --resume). `splits_before`: the splits done before this
  // run (resumed), counted when there is no file to say which are in.
  Finished finish(std::size_t splits_before);

  double seconds() const { return seconds_; }  // this rank's time in write() and finish()

 private:
  const Comm& comm_;
  h5::RunWriter* file_;
  HBaseEmbeddingWriter* hbase_;
  RankStats& stats_;
  double seconds_ = 0;
  std::int64_t splits_written_ = 0;  // this rank's, over the rounds
};

}  // namespace pm::pipeline
