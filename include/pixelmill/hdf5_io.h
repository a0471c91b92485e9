// Collective reading and writing of the pixelmill HDF5 file (layout: output_layout.h).
// All functions are collective over `comm`: every rank calls them, in the same order.
// Built on parallel HDF5 with MPI-IO; every hid_t is owned by an RAII handle inside.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/image_result.h"

namespace pm::h5 {

struct RunAttributes {
  std::string version;
  std::string command_line;
  std::string model_card_json;
  std::string model_card_sha256;
  std::string model_sha256;
  std::string parameters_json;
  std::string counts_json;
  std::string plan_sha256;     // of the encoded split plan: --resume checks it
  std::int64_t plan_ranks = 1; // the rank count the plan was sized for
  // A run stopped early: splits may be missing. The file records which are present
  // (/progress) and is marked complete only if none is missing.
  bool partial = false;
};

// Writes /images for a run. Each rank passes the splits it processed; rows are placed
// by split index (split i's rows follow those of splits 0..i-1, whichever rank had
// them). Every split index in [0, total_splits) must be held by exactly one rank
// (at most one when attrs.partial). Writes /progress and the `complete` attribute.
// Creates (truncates) `path`. Returns the total row count.
std::int64_t write_images(const Comm& comm, const std::string& path, int embedding_dim,
                          const std::vector<SplitResults>& mine, std::uint64_t total_splits,
                          const RunAttributes& attrs);

// A contiguous block of rows read back from /images.
struct ImageRows {
  std::int64_t first_row = 0;       // global index of rows[0]
  std::int64_t total_rows = 0;      // rows in the whole file
  int embedding_dim = 0;
  std::vector<std::string> keys;
  std::vector<std::uint8_t> status;
  std::vector<float> embedding;     // row-major [count, embedding_dim]
  std::vector<ContentHash> content_hash;
  std::vector<std::uint64_t> phash;
};

// Rows [begin, end) of the file (any rank may read any range; not collective).
ImageRows read_images(const std::string& path, std::int64_t begin, std::int64_t end,
                      bool with_embeddings = true);
std::int64_t row_count(const std::string& path);
std::map<std::string, std::string> read_root_attributes(const std::string& path);

// Which planned splits a file holds, from /progress and the root attributes.
// A file without /progress (written before it existed) is complete, with empty vectors.
struct Progress {
  bool complete = true;
  std::string plan_sha256;
  std::int64_t plan_ranks = 1;
  std::vector<std::uint8_t> split_done;  // [planned splits]
  std::vector<std::int64_t> split_rows;  // [planned splits]; 0 where not done
};
Progress read_progress(const std::string& path);

// Rows [begin, end) as the ImageResults they were written from (every column,
// the error message as stored). Not collective.
std::vector<ImageResult> read_results(const std::string& path, std::int64_t begin,
                                      std::int64_t end);

// Writes /dedup (replacing it if present). `group` and `exact_group` are given for a
// contiguous block of rows per rank (row ranges in rank order covering [0, N));
// pairs/scores are this rank's share, concatenated in rank order.
struct DedupOutput {
  std::int64_t first_row = 0;
  std::vector<std::int64_t> group;
  std::vector<std::int64_t> exact_group;
  std::vector<std::int64_t> pairs;  // flattened [M_local, 2]
  std::vector<float> score;         // [M_local]
  float threshold = 0;
  std::string against_json = "[]";
};
void write_dedup(const Comm& comm, const std::string& path, const DedupOutput& mine);

}  // namespace pm::h5
