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
  // (The `counts` attribute is the writer's own count of the rows' statuses.)
  std::string plan_sha256;     // of the encoded split plan: --resume checks it
  std::int64_t plan_ranks = 1; // the rank count the plan was sized for
  // A run stopped early: splits may be missing. The file records which are present
  // (/progress) and is marked complete only if none is missing.
  bool partial = false;
  // extract --detector: /detections beside /images, its rows grouped by split like the
  // image rows. < 0: no /detections; 0: boxes only; > 0: with crop embeddings of this size.
  int detection_dim = -1;
  // String attributes of the /detections group (classes, the detector's card, ...).
  std::map<std::string, std::string> detection_attributes;
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

// Reading (not collective: any rank, or a program without MPI, may read any rows at any
// time). Files are untrusted input: every reader checks what it reads against the layout
// (output_layout.h) -- each dataset's type and shape, each attribute's class and element
// count, every row id, length and status code -- before using it, and a mismatch is a
// pm::Error naming the file, the object and what was expected.

// Rows [begin, end) of the file.
ImageRows read_images(const std::string& path, std::int64_t begin, std::int64_t end,
                      bool with_embeddings = true);
std::int64_t row_count(const std::string& path);
// Every root attribute as text (strings as stored, integers in decimal, floats round-trip).
std::map<std::string, std::string> read_root_attributes(const std::string& path);
// The attributes of group `group` ("/detections"); empty when the group does not exist.
std::map<std::string, std::string> read_group_attributes(const std::string& path, const std::string& group);
// One root string attribute; "" when absent, an error when it is not one string.
std::string read_root_string(const std::string& path, const char* name);

// Which planned splits a file holds, from /progress and the root attributes.
// A file without /progress (written before it existed) is complete, with empty vectors.
// Checked: plan_ranks in 1..kMaxPlanRanks, every split_done 0 or 1, split_rows >= 0 (0
// where not done), and the done splits' rows add up to the rows of /images.
inline constexpr std::int64_t kMaxPlanRanks = std::int64_t{1} << 20;
struct Progress {
  bool complete = true;
  std::string plan_sha256;
  std::int64_t plan_ranks = 1;
  std::vector<std::uint8_t> split_done;  // [planned splits]
  std::vector<std::int64_t> split_rows;  // [planned splits]; 0 where not done
  std::vector<std::int64_t> split_first_row;  // [planned splits]; -1 where not done
  // Rows of /images that /progress accounts for (a streamed run's commit point; rows
  // past it are dropped by --resume). Files written before streaming: all of /images.
  std::int64_t staged_rows = 0;
  std::int64_t rounds = 0;
  // /detections (extract --detector), absent otherwise: the same per split, and its
  // commit point.
  bool has_detections = false;
  std::int64_t detection_dim = 0;
  std::vector<std::int64_t> split_detections;
  std::vector<std::int64_t> split_first_detection;
  std::int64_t staged_detections = 0;
};
Progress read_progress(const std::string& path);

// Rows [begin, end) as the ImageResults they were written from (every column,
// the error message as stored). Not collective.
std::vector<ImageResult> read_results(const std::string& path, std::int64_t begin,
                                      std::int64_t end);

// /detections (extract --detector), read back and checked: every image id a row of
// /images, embeddings finite-sized as detection_dim says. Not collective.
struct DetectionRows {
  std::int64_t first = 0;   // detection index of entry 0
  std::int64_t total = 0;   // detections in the file
  int dim = 0;              // crop embedding dimension (0: none stored)
  std::vector<std::int64_t> image;  // [count]
  std::vector<float> box;           // [count, 4]
  std::vector<float> score;         // [count]
  std::vector<float> embedding;     // [count, dim]; empty unless asked for
};
// Detections in the file (0 when it has no /detections).
std::int64_t detection_count(const std::string& path);
DetectionRows read_detections(const std::string& path, std::int64_t begin, std::int64_t end,
                              bool with_embeddings = true);
// /dedup_crops/image_pairs, image_score and group (empty when the file has no /dedup_crops);
// every image id checked to be a row of /images, each pair i < j, every group id a
// detection.
struct CropImagePairs {
  std::vector<std::int64_t> pairs;  // flattened [K, 2]
  std::vector<float> score;
  std::vector<std::int64_t> group;  // /dedup_crops/group: per detection, checked < detections
};
CropImagePairs read_crop_image_pairs(const std::string& path);
// /detections/image at the given detection ids (ascending, each < detection_count).
std::vector<std::int64_t> read_detection_images(const std::string& path, const std::vector<std::int64_t>& ids);

// Writes /dedup_crops (replacing it): per detection its group (the smallest detection id
// of its component), the detection pairs at or above the threshold and their scores, and
// the image pairs (row i < row j of /images) that share an object, with the best score of
// the object pairs between them. Contiguous blocks of detections per rank (like
// DedupOutput's rows); pairs and image pairs are each rank's share.
struct CropDedupOutput {
  std::int64_t first = 0;
  std::vector<std::int64_t> group;
  std::vector<std::int64_t> pairs;        // flattened [M_local, 2]
  std::vector<float> score;
  std::vector<std::int64_t> image_pairs;  // flattened [K_local, 2]
  std::vector<float> image_score;
  std::int64_t groups = 0;  // components of two or more detections (the same on every rank)
  float threshold = 0;
  std::string join_precision = "fp32";
};
void write_dedup_crops(const Comm& comm, const std::string& path, const CropDedupOutput& mine);

// Writes /dedup (replacing it if present). `group` and `exact_group` are given for a
// contiguous block of rows per rank (row ranges in rank order covering [0, N));
// pairs/scores are this rank's share, concatenated in rank order.
struct DedupOutput {
  std::int64_t first_row = 0;
  std::vector<std::int64_t> group;
  std::vector<std::int64_t> exact_group;
  std::vector<std::int64_t> pairs;  // flattened [M_local, 2]
  std::vector<float> score;         // [M_local]
  // Rows of the older files whose group this run changed, this rank's share:
  // flattened [K_local, 2] of (row id, new group id), both >= N (see /dedup/regrouped).
  std::vector<std::int64_t> regrouped;
  float threshold = 0;
  std::string against_json = "[]";
  std::string join_precision = "fp32";  // attribute join_precision: the matmuls' precision
  // dedup --index ivf: the quantizer, written by rank 0 to /index (lists == 0: no /index).
  int lists = 0;
  int dim = 0;
  std::vector<float> centroids;             // [lists, dim], rank 0
  std::vector<std::int64_t> list_sizes;     // [lists], rank 0
  std::vector<std::int32_t> home;           // this rank's rows (like group): nearest list, -1 none
  std::string index_json = "{}";            // probe, iterations, sample_rows, seed, train_per_list
};
void write_dedup(const Comm& comm, const std::string& path, const DedupOutput& mine);

// /dedup read back. Row ids are checked against the rows they may name: ids < N are rows
// of the file itself, ids in [N, N + against_rows) rows of the older files listed in the
// attribute `against` (whose offsets must be the running sums of their rows).
struct AgainstFile {
  std::string path;
  std::int64_t rows = 0;
  std::int64_t offset = 0;  // its row r is id N + offset + r
};
struct DedupInfo {
  double threshold = 0;           // a cosine in [-1, 1]
  std::int64_t rows = 0;          // N, the rows of /images (and of group, exact_group)
  std::int64_t pairs = 0;         // M, the rows of /dedup/pairs and /dedup/score
  std::int64_t regrouped = 0;     // K, the rows of /dedup/regrouped (0 when absent)
  std::vector<AgainstFile> against;
  std::int64_t against_rows = 0;  // ids are < rows + against_rows
  // The attribute join_precision ("fp32" or "bf16" as written; files written before it
  // are "fp32"). One string, else an error like every attribute.
  std::string join_precision = "fp32";
};
// True when the file has /dedup results (group and exact_group).
bool has_dedup(const std::string& path);
// The /dedup attributes and extents, checked; an error naming /dedup when it is missing.
DedupInfo read_dedup_info(const std::string& path);
// Rows [begin, end) of /dedup/group and /dedup/exact_group; every id < N + against_rows.
struct DedupGroups {
  std::vector<std::int64_t> group;
  std::vector<std::int64_t> exact_group;
};
DedupGroups read_dedup_groups(const std::string& path, std::int64_t begin, std::int64_t end);
// Pairs [begin, end) of /dedup/pairs and /dedup/score; every pair 0 <= i < j < N +
// against_rows, every score finite.
struct DedupPairs {
  std::vector<std::int64_t> pairs;  // flattened [count, 2]
  std::vector<float> score;         // [count]
};
DedupPairs read_dedup_pairs(const std::string& path, std::int64_t begin, std::int64_t end);
// Records [begin, end) of /dedup/regrouped, flattened [count, 2] of (row, group): every
// N <= group < row < N + against_rows (a regrouped row is an older file's row, and the
// merged group keeps the smaller id). Files written before it existed have none.
std::vector<std::int64_t> read_dedup_regrouped(const std::string& path, std::int64_t begin,
                                               std::int64_t end);

// The quantizer of a `dedup --index ivf` run (/index), for later runs that reuse its lists.
struct IndexData {
  int lists = 0;
  int dim = 0;
  std::vector<float> centroids;          // [lists, dim], every value finite
  std::vector<std::int64_t> list_sizes;  // [lists], each >= 0
};
// True when `path` holds /index/centroids (no check of its contents).
bool has_index(const std::string& path);
// Reads and checks /index: centroids [L, D] float32 with 1 <= L <= 2^20, D matching
// /images/embedding, finite values; list_sizes [L] int64 >= 0. Throws pm::Error naming
// the file and the object otherwise.
IndexData read_index(const std::string& path);
// Rows [begin, end) of /index/home, each checked to be -1 or a list of /index/centroids.
std::vector<std::int32_t> read_index_home(const std::string& path, std::int64_t begin,
                                          std::int64_t end);

// `pixelmill search --output`: /search/row and /search/cosine, [queries, top] each (row -1
// and NaN past a query's hits), into the run file `path`. One process, file closed elsewhere.
void write_search(const std::string& path, int top, const std::vector<std::int64_t>& rows,
                  const std::vector<float>& cosine);

}  // namespace pm::h5
