#include "run_output_sink.h"

#include <chrono>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"

#ifdef PM_HAVE_HBASE
#include "pixelmill/hbase.h"
#endif

namespace pm::pipeline {

using Clock = std::chrono::steady_clock;

RunOutputSink::RunOutputSink(const Comm& comm, h5::RunWriter* file, HBaseEmbeddingWriter* hbase,
                             RankStats& stats)
    : comm_(comm), file_(file), hbase_(hbase), stats_(stats) {
#ifndef PM_HAVE_HBASE
  PM_ASSERT(hbase_ == nullptr, "an HBase write-back in a build without HBase support");
#endif
}

void RunOutputSink::write(std::vector<SplitResults>& done) {
  const auto t = Clock::now();
  splits_written_ += static_cast<std::int64_t>(done.size());
#ifdef PM_HAVE_HBASE
  // First: the file's round releases the rows it wrote.
  if (hbase_)
    agreed(comm_, "HBase write-back", [&] {
      for (const SplitResults& s : done) hbase_->write(s.rows);
    });
#endif
  if (file_) file_->append(comm_, done);
  done.clear();
  seconds_ += std::chrono::duration<double>(Clock::now() - t).count();
  stats_.add_stage(Stage::kWrite, Clock::now() - t);
}

RunOutputSink::Finished RunOutputSink::finish(std::size_t splits_before) {
#ifdef PM_HAVE_HBASE
  if (hbase_) agreed(comm_, "HBase write-back", [&] { hbase_->flush(); });
#endif
  Finished out;
  if (file_) {
    const auto t = Clock::now();
    for (const std::uint8_t d : file_->split_done()) out.splits_done += d;
    out.rows = file_->finish(comm_);  // split order when complete; else left to --resume
    seconds_ += std::chrono::duration<double>(Clock::now() - t).count();
    stats_.add_stage(Stage::kWrite, Clock::now() - t);
  } else {
    out.splits_done = static_cast<std::size_t>(comm_.allreduce_sum(splits_written_)) + splits_before;
  }
  return out;
}

}  // namespace pm::pipeline
