// Writes a small pixelmill file (/images and /dedup) for the h5dump and h5py layout
// checks. Run under mpirun; argv[1] is the output path. Row i's key is "row-<i>" and
// every value is derived from i, so check_layout.py knows what each row holds.
#include <mpi.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/hdf5_io.h"

namespace {

constexpr int kDim = 4;
constexpr std::uint64_t kSplits = 5;
constexpr std::size_t kRowsPerSplit[kSplits] = {3, 0, 4, 1, 2};  // 10 rows

pm::ImageResult row(std::int64_t i) {
  pm::ImageResult r;
  r.key = "row-" + std::to_string(i);
  if (i % 4 == 3) {
    r.status = pm::Status::error(pm::StatusCode::kCorrupt, "corrupt image " + std::to_string(i));
  } else {
    for (int d = 0; d < kDim; ++d) r.embedding.push_back(static_cast<float>(i) + 0.5f * static_cast<float>(d));
  }
  r.content_hash.fill(static_cast<std::uint8_t>(i));
  r.phash = 1000 + static_cast<std::uint64_t>(i);
  r.width = static_cast<std::int32_t>(10 * i);
  r.height = static_cast<std::int32_t>(20 * i);
  r.timestamp = 1700000000000 + i;
  return r;
}

void run(const pm::Comm& comm, const std::string& path) {
  // Splits go to ranks round-robin from the last rank, so rank order != split order.
  std::vector<pm::SplitResults> mine;
  std::int64_t first = 0;
  for (std::uint64_t s = 0; s < kSplits; ++s) {
    const int owner = static_cast<int>((kSplits - s) % static_cast<std::uint64_t>(comm.size()));
    if (owner == comm.rank()) {
      pm::SplitResults split{s, {}};
      for (std::size_t k = 0; k < kRowsPerSplit[s]; ++k) split.rows.push_back(row(first + static_cast<std::int64_t>(k)));
      mine.push_back(std::move(split));
    }
    first += static_cast<std::int64_t>(kRowsPerSplit[s]);
  }
  pm::h5::RunAttributes attrs;
  attrs.version = "0.1.0";
  attrs.command_line = "pixelmill extract --input dir:sample";
  attrs.model_card_json = R"({"name": "sample", "embedding_dim": 4})";
  attrs.model_card_sha256 = std::string(64, '1');
  attrs.model_sha256 = std::string(64, '2');
  attrs.parameters_json = R"({"batch": 8})";
  const std::int64_t n = pm::h5::write_images(comm, path, kDim, mine, kSplits, attrs);

  // Dedup: rows 0-1 and 4-5-6 near-duplicates; rank 0 holds all rows and the pairs.
  pm::h5::DedupOutput dedup;
  dedup.threshold = 0.9f;
  dedup.against_json = "[]";
  if (comm.rank() == 0) {
    for (std::int64_t i = 0; i < n; ++i) {
      dedup.group.push_back(i == 1 ? 0 : (i == 5 || i == 6) ? 4 : i);
      dedup.exact_group.push_back(i);
    }
    dedup.pairs = {0, 1, 4, 5, 5, 6};
    dedup.score = {0.95f, 0.92f, 0.99f};
  }
  pm::h5::write_dedup(comm, path, dedup);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    const pm::Comm comm(MPI_COMM_WORLD);
    if (argc != 2) {
      if (comm.rank() == 0) std::fprintf(stderr, "usage: pm_hdf5_sample_writer OUT.h5\n");
      rc = 2;
    } else {
      try {
        run(comm, argv[1]);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", comm.rank(), e.what());
        rc = 1;
      }
    }
  }
  MPI_Finalize();
  return rc;
}
