// The main job, callable in-process (used by `pixelmill extract` and `eval-dedup`).
// Collective over `comm`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/tls_files.h"

namespace pm {

struct ExtractOptions {
  std::string input;           // dir:PATH | list:FILE | hbase://HOST:PORT/TABLE (or hbase+tls://)
  std::string output;          // HDF5 file path ("" = none)
  std::string hbase_output;    // hbase://HOST:PORT/TABLE for write-back ("" = none)
  TlsFiles tls;                // for every hbase+tls:// (or ?tls=1) URL of the run
  std::string model;           // ONNX file; its card is the .json beside it
  // HBase input/output (ignored for file inputs):
  std::string column;          // family:qualifier holding the image bytes
  std::string start_row, stop_row;       // row range [start, stop)
  std::int64_t since = -1, until = -1;   // cell timestamp range in ms; -1 = open
  int scanners = 0;            // concurrent split readers per rank (0 = 1 for files, 4 for HBase)
  double max_read_mbps = 0;    // per-rank read limit (0 = none)
  std::string output_column;   // family:qualifier for embeddings written back to HBase
  int batch = 16;              // images per inference batch
  int threads = 0;             // compute threads per rank (0 = cores / ranks on this node)
  int decode_threads = 0;      // decode threads per rank (0 = chosen from threads)
  std::int64_t max_pixels = 178956970;  // decoded pixels allowed per image (header check)
  std::int64_t max_bytes = 64 << 20;    // encoded bytes allowed per image
  // Longest key stored. The key column is as wide as the longest key of the run, so one
  // long key would widen every row: a longer one makes a too_large row without a key
  // (its error message gives the key's length and first bytes). 4096 holds any path
  // (PATH_MAX) and most HBase keys; HBase allows 32767. At most layout::kMaxKeyWidth.
  std::int64_t max_key_bytes = 4096;
  // Objects (extract --detector): a detector's card or ONNX file ("" = no detection); the
  // crops of its boxes are embedded by crop_model ("" = --model). Thresholds < 0 take the
  // detector card's.
  std::string detector;
  std::string crop_model;
  int max_crops = 10;          // objects kept per image, best first
  double min_score = -1;
  double nms_iou = -1;
  std::string classes;         // comma-separated class names kept ("" = all)
  double crop_margin = 0.1;    // each side of a box grows by this fraction before cropping
  bool reference = false;      // run the engine's reference kernels
  // auto | fp32 | bf16 | int8, for every network of the run against its own card
  // (pixelmill/model_precision.h). auto: the fastest the card allows on every rank's CPU;
  // int8: the card's quantized sibling (a --model without one is refused; a detector or
  // crop model without one runs fp32). What ran is recorded in the output.
  std::string precision = "auto";
  bool dedup = false;          // run dedup on the output when done
  double threshold = -1;       // dedup threshold (< 0: the model card's)
  // With dedup: each row's groups are written to HBase (hbase_output if set, else the input
  // table when it is hbase://...) under this family:prefix, unless hbase_dedup is false.
  std::string dedup_column = "f:dedup";
  bool hbase_dedup = true;
  std::string metrics_json;    // write the final summary here ("" = none)
  double progress_seconds = 5; // progress report interval on rank 0
  bool quiet = false;
  std::string command_line;    // recorded in the output
  // Continue the incomplete run in `output` (see README, "Stopping and resuming").
  bool resume = false;
  // Checkpoint rounds (pixelmill/run_writer.h): the completed splits are written when a
  // rank's completed rows pass checkpoint_mb, or checkpoint_seconds after the last round.
  // Shorter: less work lost to a kill, more, smaller writes. Memory per rank is bounded by
  // checkpoint_mb plus the work in flight.
  double checkpoint_seconds = 300;
  double checkpoint_mb = 256;
  // Polled during the run; true = stop early: finish the batches in flight, write the
  // completed splits and return with `interrupted` set. Empty = never.
  std::function<bool()> stop_requested;
};

struct ExtractSummary {
  std::int64_t records = 0;
  std::int64_t ok = 0;
  std::map<std::string, std::int64_t> by_status;  // status name -> count
  double seconds = 0;
  std::int64_t rows = 0;         // rows in the output file
  bool interrupted = false;      // stopped early: the output is incomplete, --resume continues it
  bool already_complete = false; // --resume found a complete output and did nothing
};

ExtractSummary run_extract(const Comm& comm, const ExtractOptions& options);

}  // namespace pm
