// `pixelmill search`: embeds query images with the run's model at the run's precision (an
// ordinary extract of the queries), then finds each query's nearest rows of the run
// (pm::search_run) and prints one JSON line per query on rank 0.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "commands.h"
#include "install_layout.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/extract.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/search.h"
#include "pixelmill/status.h"

namespace pm::app {

namespace {

nlohmann::json run_parameters(const std::string& run) {
  return nlohmann::json::parse(h5::read_root_string(run, "parameters"), nullptr, false);
}

// The run's model: the path its extract recorded, when it still exists.
std::string run_model(const nlohmann::json& params) {
  if (params.is_object() && params.contains("model") && params["model"].is_string()) {
    const std::string m = params["model"].get<std::string>();
    if (std::filesystem::exists(m)) return m;
  }
  return default_model();
}

// The precision the run's model ran at, so that the queries run the same file the same
// way (`auto` might resolve otherwise here). Files from before --precision say "bf16".
std::string run_precision(const nlohmann::json& params) {
  if (!params.is_object()) return "auto";
  if (params.contains("precision_ran") && params["precision_ran"].is_string())
    return params["precision_ran"].get<std::string>();
  if (params.contains("bf16") && params["bf16"].is_boolean())
    return params["bf16"].get<bool>() ? "bf16" : "fp32";
  return "auto";
}

}  // namespace

int cmd_search(const Args& args, const Comm& comm) {
  SearchOptions o;
  std::string input, model, output;
  int threads = 0;
  bool exhaustive = false;
  po::options_description desc("search options");
  desc.add_options()
      ("index", po::value(&o.run)->required(),
       "the run's HDF5 file (from extract; its /index lists are used when present)")
      ("input,i", po::value(&input)->required(), "the query images: dir:PATH or list:FILE")
      ("top,k", po::value(&o.top)->default_value(o.top), "nearest rows per query (1..1000)")
      ("threshold,t", po::value(&o.threshold)->default_value(-2),
       "drop rows below this cosine (below -1: keep all K)")
      ("model,m", po::value(&model)->default_value(""),
       "the model that embeds the queries (default: the run's, which it must be: checked), "
       "at the precision the run's model ran at")
      ("probe", po::value(&o.probe)->default_value(o.probe),
       "with /index: lists each query probes (1..64)")
      ("exhaustive", po::bool_switch(&exhaustive), "score every row, even when the run has /index")
      ("output,o", po::value(&output)->default_value(""),
       "also keep the queries' own run file here (their embeddings), with /search/row and "
       "/search/cosine [queries, K] (-1 and NaN past the hits)")
      ("threads", po::value(&threads)->default_value(0), "compute threads per rank for the queries");
  auto vm = parse_command(comm, "search", "--index RUN.h5 --input dir:QUERIES [--top K] [--threshold T]",
                          desc, args, {"index", "input"});
  if (!vm) return 0;
  o.use_index = !exhaustive;
  std::string run_sha, queries, precision;
  agreed(comm, "search: checking the run", [&] {
    if (o.top < 1 || o.top > 1000) throw Error("--top must be in 1..1000, not " + std::to_string(o.top));
    if (o.probe < 1 || o.probe > 64) throw Error("--probe must be in 1..64, not " + std::to_string(o.probe));
    if (o.threshold > 1) throw Error("--threshold must be a cosine (at most 1)");
    if (input.rfind("dir:", 0) != 0 && input.rfind("list:", 0) != 0)
      throw Error("search: --input must be dir:PATH or list:FILE, not '" + input + "'");
    run_sha = h5::read_root_string(o.run, "model_sha256");
    if (h5::row_count(o.run) == 0) throw Error("search: " + o.run + " has no rows");
    const nlohmann::json params = run_parameters(o.run);
    if (model.empty()) model = run_model(params);
    precision = run_precision(params);
  });
  // The queries' own run: --output, or a file of this job removed at the end.
  queries = output;
  if (queries.empty()) {
    std::string dir;
    if (comm.rank() == 0) {
      const char* tmp = std::getenv("TMPDIR");
      std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pixelmill-search-XXXXXX";
      if (!mkdtemp(tmpl.data())) tmpl.clear();
      dir = tmpl;
    }
    dir = comm.broadcast(dir, 0);
    if (dir.empty()) throw Error("search: cannot make a temporary directory (TMPDIR)");
    queries = dir + "/queries.h5";
  }
  struct Cleanup {
    const Comm& comm;
    std::string dir;
    ~Cleanup() {
      comm.barrier();
      if (comm.rank() == 0 && !dir.empty()) std::filesystem::remove_all(dir);
    }
  } cleanup{comm, output.empty() ? std::filesystem::path(queries).parent_path().string() : ""};

  ExtractOptions e;
  e.input = input;
  e.output = queries;
  e.model = model;
  e.precision = precision;
  e.threads = threads;
  e.quiet = true;
  run_extract(comm, e);
  h5::ImageRows q;
  agreed(comm, "search: reading the queries' embeddings", [&] {
    const std::string sha = h5::read_root_string(queries, "model_sha256");
    if (sha != run_sha)
      throw Error("search: the queries were embedded with model " + sha.substr(0, 12) + "… (" + model +
                  "), the run " + o.run + " with " + run_sha.substr(0, 12) +
                  "…: pass --model with the run's model");
    q = h5::read_images(queries, 0, h5::row_count(queries));
  });
  bool used_index = false;
  const auto hits = search_run(comm, o, q.embedding, q.embedding_dim, &used_index);
  if (comm.rank() != 0) return 0;
  const auto ok = static_cast<std::uint8_t>(StatusCode::kOk);
  for (std::size_t j = 0; j < q.keys.size(); ++j) {
    nlohmann::ordered_json line{{"query", q.keys[j]}};
    if (q.status[j] != ok) {
      line["status"] = status_name(static_cast<StatusCode>(q.status[j]));
      line["hits"] = nlohmann::ordered_json::array();
    } else {
      line["status"] = "ok";
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const SearchHit& h : hits[j]) {
        nlohmann::ordered_json x{{"key", h.key}, {"row", h.row}, {"cosine", h.cosine}};
        if (h.group >= 0) x["group"] = h.group;
        if (!h.group_key.empty()) x["group_key"] = h.group_key;
        list.push_back(x);
      }
      line["hits"] = list;
    }
    std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  }
  if (!output.empty()) {
    std::vector<std::int64_t> rows(q.keys.size() * static_cast<std::size_t>(o.top), -1);
    std::vector<float> cosine(rows.size(), std::numeric_limits<float>::quiet_NaN());
    for (std::size_t j = 0; j < hits.size(); ++j)
      for (std::size_t k = 0; q.status[j] == ok && k < hits[j].size(); ++k) {
        rows[j * static_cast<std::size_t>(o.top) + k] = hits[j][k].row;
        cosine[j * static_cast<std::size_t>(o.top) + k] = hits[j][k].cosine;
      }
    h5::write_search(output, o.top, rows, cosine);
  }
  std::fprintf(stderr, "pixelmill search: %zu queries against %s (%s)\n", q.keys.size(), o.run.c_str(),
               used_index ? "its IVF lists" : "every row");
  return 0;
}

}  // namespace pm::app
