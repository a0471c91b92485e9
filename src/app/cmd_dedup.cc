// `pixelmill dedup`: flags -> pm::DedupOptions -> pm::run_dedup; summary on rank 0.
#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "pixelmill/agreed.h"
#include "pixelmill/dedup.h"
#include "pixelmill/error.h"
#include "tls_flags.h"

namespace pm::app {

int cmd_dedup(const Args& args, const Comm& comm) {
  DedupOptions o;
  bool no_hbase_write = false;
  po::options_description desc("dedup options");
  desc.add_options()
      ("input,i", po::value(&o.input)->required(),
       "the run's HDF5 file (from extract); /dedup is written into it")
      ("on", po::value(&o.on)->default_value(o.on),
       "images (whole-image rows, /dedup) or crops (the objects of extract --detector, /dedup_crops: "
       "object groups and the image pairs that share an object)")
      ("against,a", po::value(&o.against)->multitoken()->composing(),
       "older runs' HDF5 files, oldest first: new rows are joined against their rows, and "
       "their groups keep their ids (older rows are ids N + offset, see README)")
      ("threshold,t", po::value(&o.threshold)->default_value(-1),
       "cosine threshold in [-1, 1]: pairs with similarity >= T are near-duplicates "
       "(negative = the model card's dedup.threshold, else 0.65)")
      ("block-rows", po::value(&o.block_rows)->default_value(o.block_rows),
       "rows per block travelling around the ring, and with --index ivf rows each rank sends per "
       "exchange of a wave: bounds the memory per rank (at most 1048576)")
      ("index", po::value(&o.index)->default_value(o.index),
       "exact: every pair of rows (the oracle); ivf: rows joined only within shared lists of a "
       "k-means quantizer (work ~ N*(N/L)*P; README, \"The IVF join\")")
      ("lists", po::value(&o.lists)->default_value(o.lists),
       "--index ivf: lists L (0 = about the square root of the rows; at most 1048576)")
      ("probe", po::value(&o.probe)->default_value(o.probe),
       "--index ivf: lists each row probes, its nearest first (1..64, at most L)")
      ("kmeans-iterations", po::value(&o.kmeans_iterations)->default_value(o.kmeans_iterations),
       "--index ivf: Lloyd iterations of the training (0..1000)")
      ("retrain", po::bool_switch(&o.retrain),
       "--index ivf with --against: train new lists instead of reusing the newest older file's")
      ("max-imbalance", po::value(&o.max_imbalance)->default_value(o.max_imbalance),
       "--index ivf: reused lists are trained again when the largest would hold more than this "
       "many times the mean rows per list (>= 1)")
      ("join-precision", po::value(&o.join_precision)->default_value(o.join_precision),
       "fp32 or bf16: the join's matmuls; bf16 candidates are each confirmed in exact "
       "arithmetic, so the pairs are fp32's (fp32 where a rank's CPU has no native bf16)")
      ("threads", po::value(&o.threads)->default_value(0),
       "matmul threads per rank (0 = this rank's share of its CPUs; at most 4096)")
      ("output-hbase", po::value(&o.hbase_output)->default_value(""),
       "write each row's groups to this hbase://HOST:PORT/TABLE (default: the run's input "
       "table, when its rows came from HBase)")
      ("dedup-column", po::value(&o.hbase_column)->default_value(o.hbase_column),
       "family:prefix of the HBase cells written per row: PREFIX.group, .exact_group, "
       ".score, .header")
      ("no-hbase-write", po::bool_switch(&no_hbase_write), "write /dedup only, never to HBase")
      ("quiet,q", po::bool_switch(&o.quiet), "no summary");
  add_tls_flags(desc, o.tls);
  auto vm = parse_command(comm, "dedup", "--input RUN.h5 [--against OLDER.h5 ...] [--threshold T]",
                          desc, args, {"input"});
  if (!vm) return 0;
  agreed(comm, "", [&] {
    // Without --output-hbase the table is the run's input, read from the file later.
    check_tls_flags(o.tls, {o.hbase_output}, !o.hbase_output.empty());
    if (no_hbase_write) {
      if (!o.hbase_output.empty()) throw Error("--no-hbase-write contradicts --output-hbase");
      o.hbase_write = false;
    }
    check_dedup_options(o);
  });
  const DedupSummary s = run_dedup(comm, o);
  if (comm.rank() == 0 && !o.quiet)
    std::printf("pixelmill dedup: %s\n%s", o.input.c_str(), format_summary(s).c_str());
  return 0;
}

}  // namespace pm::app
