// Streaming output: the run file written in collective rounds while the run goes on, so
// that a rank's memory does not grow with its rows and a killed job loses at most the
// rounds not yet written.
//
// During the run, /images holds the rows of the rounds written so far, each round's
// splits in split order after the previous round's (so, across rounds, in the order
// splits were completed); /progress says which splits are in and where
// (split_first_row, split_rows); the root attribute staged_rows is the commit point: rows
// at or past it belong to no published round. complete = 0 until finish(). Readers
// (h5py, `extract --resume`) see a valid, incomplete run after every round.
//
// A round first writes the rows and flushes them, then publishes them in /progress and
// staged_rows and flushes again: a kill between the two leaves rows that nothing names,
// and --resume drops them.
//
// finish() puts the rows in split order (rewriting the file through a temporary file
// when the rounds did not already leave them so), so the final file is the same for any
// rank count, any checkpoint interval and any number of restarts.
//
// Every member function is collective over the communicator given to it: every rank
// calls them in the same order (a rank with nothing to write passes nothing).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/image_result.h"

namespace pm::h5 {

class RunWriter {
 public:
  // A new run at `path` (any file there is replaced): empty extendible /images, no split
  // done, complete = 0.
  static RunWriter create(const Comm& comm, const std::string& path, int embedding_dim,
                          std::uint64_t total_splits, const RunAttributes& attrs);

  // The incomplete run at `path`, to continue it: its published rounds stay, rows past
  // staged_rows (a round cut short) are dropped. `attrs` replace the file's attributes
  // (command line, parameters) as rounds are written. The caller has checked the file
  // is this job's (pm::pipeline::inspect_output / check_plan).
  static RunWriter resume(const Comm& comm, const std::string& path, const RunAttributes& attrs);

  RunWriter(RunWriter&&) noexcept;
  RunWriter& operator=(RunWriter&&) noexcept;
  ~RunWriter();

  // Which planned splits are in the file (1) and how many rows each holds.
  const std::vector<std::uint8_t>& split_done() const;
  std::int64_t staged_rows() const;
  std::int64_t rounds() const;

  // One round: every rank's completed splits (any subset of the plan not yet in the
  // file; each split held by one rank) are appended and published. Their rows are
  // released. `counts` are the status counts of this rank's rows in `mine`; the file's
  // `counts` attribute adds them up over all rounds.
  void append(const Comm& comm, std::vector<SplitResults>& mine);

  // Ends the run. When every planned split is in: the rows in split order, complete = 1,
  // and the file at its path is final. Otherwise the file stays an incomplete run that
  // --resume continues. Returns the rows in the file.
  std::int64_t finish(const Comm& comm);

 private:
  struct Impl;
  explicit RunWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pm::h5
