// pm::h5::write_images: a whole run's rows written at once, as one round of a RunWriter
// (pixelmill/run_writer.h), so that there is one writer of run files.
#include <cstdint>
#include <string>
#include <vector>

#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/run_writer.h"

namespace pm::h5 {

std::int64_t write_images(const Comm& comm, const std::string& path, int embedding_dim,
                          const std::vector<SplitResults>& mine, std::uint64_t total_splits,
                          const RunAttributes& attrs) {
  RunWriter writer = RunWriter::create(comm, path, embedding_dim, total_splits, attrs);
  std::vector<SplitResults> round = mine;  // a round releases what it wrote
  writer.append(comm, round);
  // The table is the same on every rank: the same verdict everywhere.
  if (!attrs.partial)
    for (std::uint64_t s = 0; s < total_splits; ++s)
      PM_CHECK(writer.split_done()[s], "split " + std::to_string(s) + " of " + std::to_string(total_splits) +
                                           " was passed by no rank");
  return writer.finish(comm);
}

}  // namespace pm::h5
