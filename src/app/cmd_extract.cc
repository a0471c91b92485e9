// `pixelmill extract`: flags -> pm::ExtractOptions -> pm::run_extract.
#include <cstdio>
#include <sstream>

#include "cli.h"
#include "commands.h"
#include "install_layout.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/extract.h"
#include "precision_flags.h"
#include "stop_signals.h"
#include "tls_flags.h"

namespace pm::app {

int cmd_extract(const Args& args, const Comm& comm) {
  ExtractOptions o;
  bool no_hbase_dedup = false;
  bool bf16 = false;
  po::options_description desc("extract options");
  desc.add_options()
      ("input,i", po::value(&o.input)->required(),
       "dir:PATH (recursive), list:FILE (one path a line) or hbase://HOST:PORT/TABLE "
       "(hbase+tls:// over HTTPS, see --tls-ca)")
      ("output,o", po::value(&o.output)->default_value(""), "HDF5 file to write (one per run)")
      ("model,m", po::value(&o.model)->default_value(default_model()),
       "ONNX model (its card is the .json beside it), or the card itself")
      ("output-hbase", po::value(&o.hbase_output)->default_value(""),
       "also write embeddings back to hbase://HOST:PORT/TABLE (see --output-column)")
      ("output-column", po::value(&o.output_column)->default_value("f:embedding"),
       "family:qualifier for embeddings written back to HBase")
      ("column", po::value(&o.column)->default_value("f:img"),
       "HBase input: family:qualifier holding the image bytes")
      ("start-row", po::value(&o.start_row)->default_value(""), "HBase input: first row (inclusive)")
      ("stop-row", po::value(&o.stop_row)->default_value(""), "HBase input: end row (exclusive)")
      ("since", po::value(&o.since)->default_value(-1),
       "HBase input: oldest cell timestamp, ms since epoch (inclusive; -1 = open)")
      ("until", po::value(&o.until)->default_value(-1),
       "HBase input: newest cell timestamp, ms since epoch (exclusive; -1 = open)")
      ("scanners", po::value(&o.scanners)->default_value(0),
       "split readers in flight per rank, independent of compute (0 = 1 for files, 4 for "
       "HBase; at most 256)")
      ("max-read-mbps", po::value(&o.max_read_mbps)->default_value(0),
       "HBase input: read limit per rank in MB/s, to protect a production cluster (0 = none)")
      ("batch,b", po::value(&o.batch)->default_value(16), "images per inference batch (1..4096)")
      ("threads,t", po::value(&o.threads)->default_value(0),
       "compute threads per rank (0 = this rank's share of its CPUs; at most 4096)")
      ("decode-threads", po::value(&o.decode_threads)->default_value(0),
       "decode threads per rank, fixed (0 = as many as compute threads, how many decode at once balanced"
       " from measured CPU costs; at most 4096)")
      ("max-pixels", po::value(&o.max_pixels)->default_value(o.max_pixels),
       "largest image (width x height, from the header) decoded; larger -> too_large")
      ("max-bytes", po::value(&o.max_bytes)->default_value(o.max_bytes),
       "largest encoded image accepted, in bytes; larger -> too_large")
      ("max-key-bytes", po::value(&o.max_key_bytes)->default_value(o.max_key_bytes),
       "longest key (path or HBase row key) stored; a longer one -> too_large, stored "
       "without its key (the message gives its length and first bytes)")
      ("detector", po::value(&o.detector)->default_value(""),
       "also find objects: a detector's model card (.json: models/yolox_glyph_det.json, "
       "picodet_layout_cdla.json, centerface.json; scripts/fetch-models.sh --detectors); writes /detections")
      ("crop-model", po::value(&o.crop_model)->default_value(""),
       "embedding model for the detected objects' crops (default: --model)")
      ("max-crops", po::value(&o.max_crops)->default_value(o.max_crops), "objects kept per image, best first (1..1000)")
      ("min-score", po::value(&o.min_score)->default_value(-1),
       "keep objects scoring at least this (default: the detector card's)")
      ("nms-iou", po::value(&o.nms_iou)->default_value(-1),
       "drop an object overlapping a better one of its class by more than this IoU (default: the card's)")
      ("classes", po::value(&o.classes)->default_value(""), "comma-separated detector classes kept (default: all)")
      ("crop-margin", po::value(&o.crop_margin)->default_value(o.crop_margin),
       "each side of a box grows by this fraction of its size before the crop is cut (0..1)")
      ("reference", po::bool_switch(&o.reference), "run the engine's plain C++ reference kernels")
      ("dedup", po::bool_switch(&o.dedup), "find duplicate groups when extraction is done")
      ("threshold", po::value(&o.threshold)->default_value(-1),
       "dedup cosine threshold in [-1, 1] (negative = the model card's)")
      ("dedup-column", po::value(&o.dedup_column)->default_value(o.dedup_column),
       "with --dedup and HBase input (or --output-hbase): family:prefix of the cells written "
       "per row: PREFIX.group, .exact_group, .score, .header")
      ("no-hbase-dedup", po::bool_switch(&no_hbase_dedup),
       "with --dedup: write the groups to /dedup only, not back to HBase")
      ("metrics-json", po::value(&o.metrics_json)->default_value(""),
       "write the final summary (counts, stage times, per-rank balance) as JSON")
      ("progress-seconds", po::value(&o.progress_seconds)->default_value(5),
       "seconds between progress reports on rank 0")
      ("checkpoint-seconds", po::value(&o.checkpoint_seconds)->default_value(o.checkpoint_seconds),
       "write the completed splits to --output at least this often (a kill loses at most this "
       "much work)")
      ("checkpoint-mb", po::value(&o.checkpoint_mb)->default_value(o.checkpoint_mb),
       "...or as soon as a rank holds this many MB of completed rows (bounds memory per rank)")
      ("resume", po::bool_switch(&o.resume),
       "continue the incomplete run in --output (left by SIGTERM/SIGINT); a missing file "
       "starts afresh, a complete one is left as it is")
      ("quiet,q", po::bool_switch(&o.quiet), "no progress or summary output");
  add_precision_flags(desc, o.precision, &bf16);
  add_tls_flags(desc, o.tls);
  auto vm = parse_command(comm, "extract", "--input SPEC --output RUN.h5 [options]", desc, args);
  if (!vm) return 0;
  o.hbase_dedup = !no_hbase_dedup;
  // `--output hbase://...` is accepted as a synonym of --output-hbase. The other values
  // are checked by run_extract, agreed, before any work.
  agreed(comm, "", [&] {
    apply_bf16_alias(*vm, o.precision, bf16);
    if (o.output.rfind("hbase://", 0) == 0 || o.output.rfind("hbase+tls://", 0) == 0) {
      if (!o.hbase_output.empty()) throw Error("two HBase outputs given");
      o.hbase_output = o.output;
      o.output.clear();
    }
    check_tls_flags(o.tls, {o.input, o.hbase_output});
  });
  std::ostringstream cl;
  cl << "pixelmill extract";
  for (const auto& a : args) cl << ' ' << a;
  o.command_line = cl.str();
  // SIGTERM/SIGINT: finish the batches in flight, write the completed splits, exit
  // kExitStopped; a second signal ends the process at once.
  StopSignals signals;
  o.stop_requested = [] { return StopSignals::received() != 0; };
  const auto summary = run_extract(comm, o);
  if (summary.already_complete) return 0;
  if (comm.rank() == 0 && !o.quiet && !o.output.empty())
    std::printf("  output: %s (%lld rows%s)\n", o.output.c_str(),
                static_cast<long long>(summary.rows), summary.interrupted ? ", incomplete" : "");
  return summary.interrupted ? kExitStopped : 0;
}

}  // namespace pm::app
