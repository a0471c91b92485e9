// Duplicate finding over a run's HDF5 file: exact groups from /images/content_hash,
// near-duplicate pairs from a distributed all-pairs cosine join of /images/embedding,
// groups as connected components. Results go to /dedup (layout: output_layout.h).
//
// Row ids: rows of the input file are 0..N-1. Rows of the older files given in
// `against` are referred to with negative ids: row r of against[f] is
// -(1 + offset_f + r), where offset_f is the sum of the row counts of against[0..f-1]
// (recorded in the /dedup attribute `against` as [{"path","rows","offset"}]). Older
// rows count as smaller than every row of the input, so a group that contains an older
// row keeps that older row as its id: existing group ids stay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pixelmill/comm.h"

namespace pm {

struct DedupOptions {
  std::string input;                 // the run's HDF5 file; /dedup is (re)written in it
  std::vector<std::string> against;  // older runs' files, oldest first (read only)
  double threshold = 0.75;           // cosine; pairs with score >= threshold are kept
  // Rows per block that travels around the ring (and per matmul tile side, capped at
  // 1024). Memory per rank is about (N/ranks + 2 * block_rows) * dim * 4 bytes plus one
  // 1024 x 1024 float tile; smaller blocks cost more messages, not more flops.
  std::int64_t block_rows = 8192;
  bool quiet = false;                // no summary on rank 0
};

struct DedupSummary {
  std::int64_t rows = 0;            // rows of the input file
  std::int64_t joined_rows = 0;     // rows with status ok and an embedding (joined)
  std::int64_t against_rows = 0;    // rows of the older files
  std::int64_t pairs = 0;           // pairs with cosine >= threshold (new-new and new-old)
  std::int64_t exact_duplicates = 0;  // input rows whose exact_group is another row
  std::int64_t groups = 0;          // groups of >= 2 members that contain an input row
  std::int64_t rows_in_groups = 0;  // input rows in such groups
  std::int64_t largest_group = 0;   // input rows in the largest group
  std::int64_t largest_group_id = -1;
  double join_seconds = 0;          // the all-pairs join (max over ranks)
  double join_gflop = 0;            // matmul work of the join, all ranks
  double seconds = 0;               // the whole run, including I/O
};

// Collective over `comm`: reads `options.input` (and the older files), joins, groups,
// writes /dedup with pm::h5::write_dedup. Throws pm::Error on setup errors.
DedupSummary run_dedup(const Comm& comm, const DedupOptions& options);

// One line per figure, for printing on rank 0.
std::string format_summary(const DedupSummary& summary);

}  // namespace pm
