// run_dedup: the file-level driver. Reads this rank's share of the input rows and of the
// older files' rows, runs dedup_nodes, and writes /dedup collectively.
#include "pixelmill/dedup.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <sstream>

#include "dedup_core.h"
#include "dedup_crops.h"
#include "group_statistics.h"
#include "join_setup.h"
#include "hbase_writeback.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/limits.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/rank_cpus.h"
#include "pixelmill/status.h"

namespace pm {

namespace {

using dedup::NodeBlock;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct OlderFile {
  std::string path;
  std::int64_t rows = 0;
  std::int64_t offset = 0;  // node id of its row 0
};

// Appends rows [begin, end) of `path` to `block` (whose first_node is already set).
void append_rows(NodeBlock& block, const std::string& path, std::int64_t begin,
                 std::int64_t end) {
  if (end <= begin) return;
  h5::ImageRows rows = h5::read_images(path, begin, end, /*with_embeddings=*/true);
  if (block.dim == 0) block.dim = rows.embedding_dim;
  PM_CHECK(rows.embedding_dim == block.dim,
           "'" + path + "' has embeddings of dimension " + std::to_string(rows.embedding_dim) +
               ", not " + std::to_string(block.dim));
  const std::int64_t n = end - begin;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool has_embedding = static_cast<std::int64_t>(rows.embedding.size()) >= (i + 1) * block.dim;
    block.usable.push_back(rows.status[i] == static_cast<std::uint8_t>(StatusCode::kOk) &&
                           has_embedding && block.dim > 0);
  }
  rows.embedding.resize(static_cast<std::size_t>(n * block.dim), 0.f);
  block.embedding.insert(block.embedding.end(), rows.embedding.begin(), rows.embedding.end());
  block.hash.insert(block.hash.end(), rows.content_hash.begin(), rows.content_hash.end());
}

// Where an older file's own row ids point, in this run's node ids. Its ids below its row
// count are its rows; larger ones are rows of *its* --against files, which this run
// follows when it was given them too (the nightly workflow passes every earlier night).
class OlderIds {
 public:
  OlderIds(const OlderFile& file, const h5::DedupInfo& info, const std::vector<OlderFile>& ours)
      : file_(file), info_(info) {
    // Each of the file's own --against entries is matched to one of ours: the same path
    // (after resolving . and ..), or else the same file name, when only one of ours has
    // it; the row counts must agree. Unmatched: not followed, as before.
    for (const h5::AgainstFile& e : info.against) {
      int match = -1;
      for (std::size_t i = 0; i < ours.size() && match < 0; ++i)
        if (ours[i].rows == e.rows && same_path(ours[i].path, e.path)) match = static_cast<int>(i);
      if (match < 0) {
        const std::string name = std::filesystem::path(e.path).filename().string();
        for (std::size_t i = 0; i < ours.size(); ++i)
          if (ours[i].rows == e.rows && std::filesystem::path(ours[i].path).filename() == name) {
            match = match < 0 ? static_cast<int>(i) : -2;
          }
      }
      offset_.push_back(match >= 0 ? ours[static_cast<std::size_t>(match)].offset : -1);
    }
  }

  // The node of the file's row id `id` (checked by the reader: < rows + against rows),
  // or -1 when it points into a file this run was not given.
  std::int64_t node(std::int64_t id) const {
    if (id < file_.rows) return file_.offset + id;
    const std::int64_t x = id - file_.rows;
    for (std::size_t i = 0; i < info_.against.size(); ++i) {
      const h5::AgainstFile& e = info_.against[i];
      if (x >= e.offset && x < e.offset + e.rows)
        return offset_[i] < 0 ? -1 : offset_[i] + (x - e.offset);
    }
    return -1;
  }

 private:
  static bool same_path(const std::string& a, const std::string& b) {
    std::error_code ea, eb;
    const auto ca = std::filesystem::weakly_canonical(a, ea);
    const auto cb = std::filesystem::weakly_canonical(b, eb);
    return ea || eb ? a == b : ca == cb;
  }

  const OlderFile& file_;
  const h5::DedupInfo& info_;
  std::vector<std::int64_t> offset_;  // per entry of info.against: our node of its row 0
};

// This rank's share of the older files' rows, with the groups those runs found.
NodeBlock read_older(const Comm& comm, const std::vector<OlderFile>& files, std::int64_t total,
                     int dim) {
  NodeBlock block;
  block.dim = dim;
  const std::int64_t begin = total * comm.rank() / comm.size();
  const std::int64_t end = total * (comm.rank() + 1) / comm.size();
  block.first_node = begin;
  for (std::size_t fi = 0; fi < files.size(); ++fi) {
    const OlderFile& f = files[fi];
    const std::int64_t b = std::max(begin, f.offset) - f.offset;
    const std::int64_t e = std::min(end, f.offset + f.rows) - f.offset;
    // The regroupings the file recorded are read by one rank per file (they are few: the
    // rows of the groups its run merged), the groups of its rows by the ranks that hold them.
    const bool reads_regrouped = static_cast<int>(fi % static_cast<std::size_t>(comm.size())) ==
                                 comm.rank();
    if (e > b) append_rows(block, f.path, b, e);
    if ((e <= b && !reads_regrouped) || !h5::has_dedup(f.path)) continue;
    // Keep what the older runs found: each row joins its old group, and the groups a
    // later run merged stay merged (that run's /dedup/regrouped).
    const h5::DedupInfo info = h5::read_dedup_info(f.path);
    const OlderIds ids(f, info, files);
    if (e > b) {
      const auto group = h5::read_dedup_groups(f.path, b, e).group;
      for (std::int64_t i = 0; i < e - b; ++i) {
        const std::int64_t g = ids.node(group[i]);
        if (g >= 0 && g != f.offset + b + i) block.prior_edges.emplace_back(f.offset + b + i, g);
      }
    }
    if (reads_regrouped && info.regrouped > 0) {
      const auto records = h5::read_dedup_regrouped(f.path, 0, info.regrouped);
      for (std::size_t k = 0; k + 1 < records.size(); k += 2) {
        const std::int64_t row = ids.node(records[k]), group = ids.node(records[k + 1]);
        if (row >= 0 && group >= 0) block.prior_edges.emplace_back(row, group);
      }
    }
  }
  return block;
}

// Node id -> file-level id: rows of the input are 0..N-1, older rows follow from N.
std::int64_t encode(std::int64_t node, std::int64_t older_rows, std::int64_t rows) {
  return node < older_rows ? rows + node : node - older_rows;
}

}  // namespace

double resolve_threshold(const std::string& path, double requested) {
  if (requested >= 0) return requested;
  const std::string card = h5::read_root_string(path, "model_card");
  const auto j = nlohmann::json::parse(card, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("dedup") && j["dedup"].is_object() &&
      j["dedup"].contains("threshold") && j["dedup"]["threshold"].is_number()) {
    // The card in the file is not the card a model was loaded with: check it the same way.
    const double t = j["dedup"]["threshold"].get<double>();
    PM_CHECK(t > -1.0 && t <= 1.0, "'" + path + "' root attribute 'model_card': dedup.threshold " +
                                       std::to_string(t) + " is not a cosine in (-1, 1]");
    return t;
  }
  return kDefaultThreshold;
}

std::string dedup_hbase_target(const std::string& path, const DedupOptions& options) {
  if (!options.hbase_write) return "";
  if (!options.hbase_output.empty()) return options.hbase_output;
  // extract records its --input in the root attribute `parameters`.
  const std::string params = h5::read_root_string(path, "parameters");
  const auto j = nlohmann::json::parse(params, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("input") && j["input"].is_string()) {
    const std::string input = j["input"].get<std::string>();
    if (input.rfind("hbase://", 0) == 0 || input.rfind("hbase+tls://", 0) == 0) return input;
  }
  return "";
}

void check_threshold(double threshold) {
  if (!(threshold >= -1.0 && threshold <= 1.0))
  {
    std::ostringstream got;
    got << threshold;
    throw Error("--threshold must be a cosine similarity in [-1, 1] (negative: the model "
                "card's threshold), not " + got.str());
  }
}

void check_dedup_options(const DedupOptions& o) {
  if (o.input.empty()) throw Error("dedup: no --input file");
  check_threshold(o.threshold);
  if (o.block_rows < 1 || o.block_rows > kMaxBlockRows)
    throw Error("--block-rows must be in 1.." + std::to_string(kMaxBlockRows) + ", not " +
                std::to_string(o.block_rows));
  if (o.threads < 0 || o.threads > kMaxThreadsPerRank)
    throw Error("--threads must be in 0.." + std::to_string(kMaxThreadsPerRank) +
                " (0 = this rank's share of its CPUs), not " + std::to_string(o.threads));
  for (const std::string& path : o.against)
    if (path == o.input) throw Error("dedup: --against names the input file itself");
  if (o.index != "exact" && o.index != "ivf")
    throw Error("--index must be exact or ivf, not '" + o.index + "'");
  if (o.lists < 0 || o.lists > kMaxLists)
    throw Error("--lists must be in 0.." + std::to_string(kMaxLists) + " (0 = about sqrt(rows)), not " +
                std::to_string(o.lists));
  if (o.probe < 1 || o.probe > 64)
    throw Error("--probe must be in 1..64, not " + std::to_string(o.probe));
  if (!(o.max_imbalance >= 1.0 && o.max_imbalance <= 1e9))
    throw Error("--max-imbalance must be a number >= 1, not " + std::to_string(o.max_imbalance));
  if (o.kmeans_iterations < 0 || o.kmeans_iterations > 1000)
    throw Error("--kmeans-iterations must be in 0..1000, not " + std::to_string(o.kmeans_iterations));
  if (o.on != "images" && o.on != "crops") throw Error("--on must be images or crops, not '" + o.on + "'");
  if (o.join_precision != "fp32" && o.join_precision != "bf16")
    throw Error("--join-precision must be fp32 or bf16, not '" + o.join_precision + "'");
}

DedupSummary run_dedup(const Comm& comm, const DedupOptions& options_in) {
  const double t0 = now();
  DedupOptions options = options_in;
  DedupSummary s;
  std::vector<OlderFile> older;
  nlohmann::json against = nlohmann::json::array();
  std::string hbase_target;
  // Every rank reads the files itself (plain POSIX reads), so any read may fail on some
  // ranks only (a node that does not see the file): each read is agreed before the next
  // collective call.
  agreed(comm, "", [&] { check_dedup_options(options); });
  if (options.on == "crops") return dedup::run_dedup_crops(comm, options);
  agreed(comm, "dedup: reading " + options.input, [&] {
    options.threshold = resolve_threshold(options.input, options.threshold);
    PM_CHECK(options.threshold <= 1.0, "dedup: the model card's threshold is above 1");
    s.rows = h5::row_count(options.input);
    for (const std::string& path : options.against) {
      OlderFile f{path, h5::row_count(path), s.against_rows};
      s.against_rows += f.rows;
      against.push_back({{"path", f.path}, {"rows", f.rows}, {"offset", f.offset}});
      older.push_back(f);
    }
    hbase_target = dedup_hbase_target(options.input, options);
  });
  s.threshold = options.threshold;

  // The HBase table (if any) is checked before the join, so a wrong family or an
  // unreachable server is reported before any work.
  std::unique_ptr<dedup::HBaseWriteBack> hbase;
  if (!hbase_target.empty())
    hbase = dedup::open_hbase_write_back(comm, hbase_target, options.hbase_column, options.tls);

  const std::int64_t begin = s.rows * comm.rank() / comm.size();
  const std::int64_t end = s.rows * (comm.rank() + 1) / comm.size();
  // Each rank reads only its share of the rows, so a damaged row fails on one rank: the
  // outcome is agreed before the next collective call, or the other ranks would wait in
  // it forever.
  NodeBlock fresh;
  fresh.first_node = s.against_rows + begin;
  agreed(comm, "dedup: reading the rows of " + options.input,
         [&] { append_rows(fresh, options.input, begin, end); });
  // Every rank needs the dimension, including ranks without rows.
  const int dim = static_cast<int>(comm.allreduce_max(static_cast<std::int64_t>(fresh.dim)));
  fresh.dim = dim;
  NodeBlock older_block;
  agreed(comm, "dedup: reading the --against files",
         [&] { older_block = read_older(comm, older, s.against_rows, dim); });

  const dedup::JoinThreads budget(comm, options.threads);
  s.threads = budget.threads();
  const dedup::JoinConfig config = dedup::join_config(comm, options, s);
  dedup::IvfConfig ivf;
  dedup::Quantizer reuse;
  if (options.index == "ivf" && !options.retrain) {
    // The newest older file with lists: later nights keep the lists of earlier ones.
    agreed(comm, "dedup: reading the lists (/index) of the --against files", [&] {
      for (auto it = options.against.rbegin(); it != options.against.rend(); ++it) {
        if (!h5::has_index(*it)) continue;
        const h5::IndexData index = h5::read_index(*it);
        reuse.dim = index.dim;
        reuse.lists = index.lists;
        reuse.centroids = index.centroids;
        s.index_from = *it;
        break;
      }
    });
    if (!s.index_from.empty()) {
      PM_CHECK(reuse.dim == dim, "dedup: the lists of " + s.index_from + " have dimension " +
                                     std::to_string(reuse.dim) + ", the embeddings " + std::to_string(dim));
      ivf.reuse = &reuse;
    }
  }
  dedup::size_ivf(options, s.rows + s.against_rows, ivf);
  const dedup::NodeResult res = dedup::dedup_nodes(comm, std::move(fresh), std::move(older_block), config, ivf);
  s.index = options.index;
  s.lists = res.quantizer.lists;
  s.probe = res.quantizer.lists > 0 ? std::min(options.probe, res.quantizer.lists) : 0;
  s.sample_rows = res.quantizer.sample_rows;
  s.imbalance = res.imbalance;
  if (!res.index_reused) s.index_from.clear();

  h5::DedupOutput out;
  out.first_row = begin;
  out.threshold = static_cast<float>(options.threshold);
  out.against_json = against.dump();
  out.join_precision = s.join_precision;
  const std::int64_t m = s.against_rows;
  for (std::int64_t g : res.group) out.group.push_back(encode(g, m, s.rows));
  for (std::int64_t g : res.exact_group) out.exact_group.push_back(encode(g, m, s.rows));
  for (const auto& p : res.pairs) {
    const std::int64_t a = encode(p.a, m, s.rows), b = encode(p.b, m, s.rows);
    out.pairs.push_back(std::min(a, b));
    out.pairs.push_back(std::max(a, b));
    out.score.push_back(p.score);
  }
  for (const auto& [row, group] : res.regrouped) {
    out.regrouped.push_back(encode(row, m, s.rows));
    out.regrouped.push_back(encode(group, m, s.rows));
  }
  if (res.quantizer.lists > 0) {
    out.lists = res.quantizer.lists;
    out.dim = res.quantizer.dim;
    out.index_json = nlohmann::json{{"probe", std::min(ivf.probe, res.quantizer.lists)},
                                    {"iterations", res.quantizer.iterations},
                                    {"sample_rows", res.quantizer.sample_rows},
                                    {"reseeded", res.quantizer.reseeded},
                                    {"seed", ivf.seed},
                                    {"train_per_list", ivf.train_per_list},
                                    {"reused_from", s.index_from},
                                    {"imbalance", res.imbalance}}.dump();
    out.home = res.home;
    if (comm.rank() == 0) {
      out.centroids = res.quantizer.centroids;
      out.list_sizes = res.list_sizes;
    }
  }
  h5::write_dedup(comm, options.input, out);
  if (hbase) {
    // Each rank writes the rows it holds; keys and best scores come from /dedup as written.
    const DedupRows rows = read_dedup_rows(comm, options.input);
    std::int64_t written = 0;
    agreed(comm, "HBase write-back of dedup results", [&] { written = hbase->write(rows); });
    s.hbase_rows = comm.allreduce_sum(written);
    s.hbase_regrouped = comm.allreduce_sum(hbase->regrouped_written());
    s.hbase_table = hbase_target.substr(0, hbase_target.find('?'));
  }

  s.joined_rows = comm.allreduce_sum(res.joined_rows);
  s.pairs = comm.allreduce_sum(static_cast<std::int64_t>(res.pairs.size()));
  s.regrouped = comm.allreduce_sum(static_cast<std::int64_t>(res.regrouped.size()));
  std::int64_t exact_dups = 0;
  for (std::size_t i = 0; i < out.exact_group.size(); ++i)
    if (out.exact_group[i] != begin + static_cast<std::int64_t>(i)) ++exact_dups;
  s.exact_duplicates = comm.allreduce_sum(exact_dups);
  dedup::group_statistics(comm, out.group, begin, s);
  s.join_seconds = comm.allreduce_max(res.join.seconds);
  s.join_gflop = comm.allreduce_sum(res.join.flops) * 1e-9;
  s.rechecked = comm.allreduce_sum(res.join.rechecked);
  s.seconds = comm.allreduce_max(now() - t0);
  return s;
}

std::string format_summary(const DedupSummary& s) {
  std::ostringstream o;
  o << "threshold        " << s.threshold << "\n";
  if (s.on == "crops")
    o << "objects          " << s.rows << " (/detections, all joined)\n"
      << "image pairs      " << s.image_pairs << " (images that share an object)\n";
  else
    o << "rows             " << s.rows << " (" << s.joined_rows << " with embeddings joined)\n"
      << "older rows       " << s.against_rows << "\n";
  if (s.against_rows > 0)
    o << "regrouped        " << s.regrouped
      << " older rows (new rows merged their group into an older one)\n";
  o << "pairs            " << s.pairs << "\n"
    << "exact duplicates " << s.exact_duplicates << "\n"
    << "groups           " << s.groups << " (" << s.rows_in_groups << " rows)\n"
    << "largest group    " << s.largest_group;
  if (s.largest_group > 0) o << " (id " << s.largest_group_id << ")";
  if (s.lists > 0)
  {
    o << "\nindex            ivf: " << s.lists << " lists, " << s.probe << " probed per row, ";
    if (!s.index_from.empty())
      o << "reused from " << s.index_from << " (largest list " << s.imbalance << " x the mean)";
    else
      o << "trained on " << s.sample_rows << " rows"
        << (s.imbalance > 0 ? " (the older lists were too uneven: " + std::to_string(s.imbalance) + " x the mean)" : "");
  }
  o << "\njoin             " << s.join_seconds << " s, " << s.join_gflop << " GFLOP";
  if (s.join_seconds > 0) o << " (" << s.join_gflop / s.join_seconds << " GFLOP/s)";
  o << " with " << s.threads << " thread(s) per rank\n";
  o << "join precision   " << s.join_precision << " matmuls, " << s.rechecked
    << " candidate scores recomputed exactly\n";
  if (!s.hbase_table.empty())
    o << "hbase            " << s.hbase_rows << " rows written back to " << s.hbase_table << " ("
      << s.hbase_regrouped << " older rows regrouped)\n";
  o << "total            " << s.seconds << " s\n";
  return o.str();
}

}  // namespace pm
