// Duplicate finding over a run's HDF5 file: exact groups from /images/content_hash,
// near-duplicate pairs from a distributed all-pairs cosine join of /images/embedding,
// groups as connected components. Results go to /dedup (layout: output_layout.h).
//
// Row ids in /dedup: 0..N-1 are the rows of the input file. Rows of the older files
// given in `against` are N + offset_f + r for row r of against[f], where offset_f is
// the sum of the row counts of against[0..f-1] (recorded in the /dedup attribute
// `against` as [{"path","rows","offset"}]), so every pair is still (i, j) with i < j.
// A group id is the smallest member in the order "older files (in --against order),
// then this file": a group that contains an older row keeps that older row as its id,
// so groups found by earlier runs keep their ids (written as N + offset_f + r).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pixelmill/comm.h"
#include "pixelmill/dedup_rows.h"
#include "pixelmill/tls_files.h"

namespace pm {

// Used when the model card names no threshold. On the eval-dedup set, sscd_distilled
// keeps precision 1.0 down to cosine 0.525 and recall >= 0.97 per edit up to 0.65.
inline constexpr double kDefaultThreshold = 0.65;

struct DedupOptions {
  std::string input;                 // the run's HDF5 file; /dedup is (re)written in it
  // "images": whole-image rows (/images, writes /dedup). "crops": the objects of
  // extract --detector (/detections, writes /dedup_crops): near-duplicate objects across
  // images, and the image pairs that share one. Crops take no --against and are not
  // written back to HBase.
  std::string on = "images";
  std::vector<std::string> against;  // older runs' files, oldest first (read only)
  // Cosine; pairs with score >= threshold are kept. Negative: the model card's
  // `dedup.threshold` (root attribute model_card of the input), else kDefaultThreshold.
  double threshold = -1;
  // Rows per block that travels around the ring (and per matmul tile side, capped at
  // 1024). Memory per rank is about (N/ranks + 2 * block_rows) * dim * 4 bytes plus one
  // 1024 x 1024 float tile; smaller blocks cost more messages, not more flops.
  std::int64_t block_rows = 8192;
  // "exact": the all-pairs ring join. "ivf": lists trained by k-means (README, "The IVF
  // join"); each row probes its `probe` nearest of `lists` lists (0 = about sqrt(rows)).
  std::string index = "exact";
  int lists = 0;
  int probe = 8;
  int kmeans_iterations = 10;
  // With --against: the lists of the newest older file that has them (/index) are reused,
  // unless `retrain`, or the largest list would hold more than `max_imbalance` x the mean.
  bool retrain = false;
  double max_imbalance = 4.0;
  // "fp32" or "bf16": the precision of the join's matmuls. bf16 proposes candidates that
  // are each confirmed exactly, so the pairs are fp32's; on a CPU without native bf16
  // (AVX512_BF16 or AMX) on some rank every rank runs fp32 and the summary says so.
  std::string join_precision = "fp32";
  // Matmul threads per rank (0 = the CPUs this rank may run on, divided among the ranks
  // of its node that share them: pm::rank_cpus), so ranks x threads do not oversubscribe
  // the node. extract --dedup passes its compute threads. Restored when run_dedup returns.
  int threads = 0;
  bool quiet = false;                // no summary on rank 0
  // Write-back of each row's result to HBase (see README, "dedup results in HBase"). When
  // the run's rows came from HBase (root attribute `parameters`, key "input") or
  // hbase_output is set, every row gets the cells of pm::HBaseDedupWriter in that table.
  bool hbase_write = true;           // false: /dedup only, never touch HBase
  std::string hbase_output;          // hbase://HOST:PORT/TABLE ("" = the run's input table)
  std::string hbase_column = "f:dedup";  // family:prefix of the written qualifiers
  TlsFiles tls;                      // when that table is hbase+tls:// (or ?tls=1)
};

struct DedupSummary {
  std::string on = "images";        // what was joined: "images" or "crops" (rows = detections)
  std::int64_t image_pairs = 0;     // crops: image pairs that share an object
  double threshold = 0;             // the threshold used
  std::int64_t rows = 0;            // rows of the input file
  std::int64_t joined_rows = 0;     // rows with status ok and an embedding (joined)
  std::int64_t against_rows = 0;    // rows of the older files
  std::int64_t regrouped = 0;       // older rows whose group new rows merged into an older one
  std::string index = "exact";      // the join that ran
  int lists = 0;                    // IVF: lists trained (0 for the exact join)
  int probe = 0;                    // IVF: lists each row probed
  std::int64_t sample_rows = 0;     // IVF: rows the k-means ran on
  std::string index_from;           // IVF: the file whose lists were reused ("" = trained)
  double imbalance = 0;             // IVF: largest list / mean of the reused lists (0: none)
  std::string join_precision = "fp32";  // the matmuls' precision that ran
  std::int64_t rechecked = 0;       // candidate scores recomputed exactly, all ranks
  std::int64_t pairs = 0;           // pairs with cosine >= threshold (new-new and new-old)
  std::int64_t exact_duplicates = 0;  // input rows whose exact_group is another row
  std::int64_t groups = 0;          // groups of >= 2 members that contain an input row
  std::int64_t rows_in_groups = 0;  // input rows in such groups
  std::int64_t largest_group = 0;   // input rows in the largest group
  std::int64_t largest_group_id = -1;
  int threads = 0;                  // matmul threads per rank
  double join_seconds = 0;          // the all-pairs join (max over ranks)
  double join_gflop = 0;            // matmul work of the join, all ranks
  double seconds = 0;               // the whole run, including I/O
  std::string hbase_table;          // where rows were written back ("" = not written)
  std::int64_t hbase_rows = 0;      // rows written back, all ranks
  std::int64_t hbase_regrouped = 0;  // older rows whose group cell was rewritten, all ranks
};

// Collective over `comm`: reads `options.input` (and the older files), joins, groups,
// writes /dedup with pm::h5::write_dedup. Setup errors and a file that some rank cannot
// read (its share of the rows) are agreed: pm::AgreedError on every rank, naming the ranks.
DedupSummary run_dedup(const Comm& comm, const DedupOptions& options);

// Throws pm::Error unless `threshold` is a cosine in [-1, 1] (negative: the model card's),
// so that `--threshold 2` is refused at start, not after an extraction.
void check_threshold(double threshold);

// Throws pm::Error for options outside their documented ranges: the threshold, block
// rows in 1..kMaxBlockRows, threads in 0..kMaxThreadsPerRank (pixelmill/limits.h).
// The same options give the same verdict everywhere; run_dedup checks them first.
void check_dedup_options(const DedupOptions& options);

// Collective: this rank's share (rows N*r/P .. N*(r+1)/P) of the /dedup results of `path`,
// with the keys of every row and of its group ids (fetched from the ranks that hold them),
// and each row's pair count and best score (routed from whichever rank holds the pair).
// Throws pm::Error when the file has no /dedup.
DedupRows read_dedup_rows(const Comm& comm, const std::string& path);

// The HBase table that run_dedup writes `path`'s results back to, or "" when none:
// `options.hbase_output` if set, else the run's input when it was hbase://..., unless
// `options.hbase_write` is false. Not collective.
std::string dedup_hbase_target(const std::string& path, const DedupOptions& options);

// The threshold `options.threshold` resolves to for `path` (see DedupOptions).
double resolve_threshold(const std::string& path, double requested);

// One line per figure, for printing on rank 0.
std::string format_summary(const DedupSummary& summary);

// `pixelmill report`: one self-contained HTML page (no server, no external files) with the
// run's counts, a histogram of similarities and the duplicate groups as thumbnail strips.
// Not collective: run it on one rank. Thumbnails are decoded from the image files the
// keys name (dir: inputs: relative to the input root recorded in the root attribute
// `parameters`, JSON key "input"); images that cannot be read show as labelled boxes.
struct ReportOptions {
  std::string input;          // the run's HDF5 file (after dedup)
  std::string output;         // the HTML file to write
  std::string image_root;     // overrides the root from `parameters` ("" = use it)
  int max_groups = 300;       // largest groups first; the rest are counted, not shown
  int max_members = 24;       // thumbnails per group strip
  int thumb_px = 120;         // thumbnail box side in CSS pixels
  std::int64_t random_pairs = 20000;  // sampled pairs for the background histogram
};

struct ReportSummary {
  std::int64_t groups = 0;          // groups in the file (>= 2 members)
  std::int64_t groups_shown = 0;
  std::int64_t thumbnails = 0;      // images decoded into the page
  std::int64_t missing_images = 0;  // members whose image could not be read
  std::int64_t boxes = 0;           // detected objects drawn on thumbnails (extract --detector)
  std::int64_t crop_pairs_shown = 0;  // image pairs sharing an object shown (dedup --on crops)
  std::int64_t object_groups_shown = 0;  // groups of near-duplicate objects shown (their crops)
};

ReportSummary write_report(const ReportOptions& options);

// Throws pm::Error for report options outside their ranges (--max-groups and
// --max-members at least 0, --thumb 16..1024); write_report checks them first.
void check_report_options(const ReportOptions& options);

}  // namespace pm
