// dedup --on crops: the objects of extract --detector joined like image rows. Each rank
// reads a contiguous share of /detections, the join (exact ring or IVF) and the components
// run as for images, and each object pair whose objects lie in two images makes an image
// pair; image pairs are sent to the rank that owns their first image, merged (best score)
// and written to /dedup_crops with the object groups and pairs.
#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

#include "dedup_core.h"
#include "dedup_crops.h"
#include "group_statistics.h"
#include "join_setup.h"
#include "pixelmill/agreed.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"

namespace pm::dedup {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The crop model's dedup threshold (the /detections attribute crop_model_card), else the
// default.
double crop_threshold(const std::string& path, double requested) {
  if (requested >= 0) return requested;
  const auto attrs = h5::read_group_attributes(path, "/detections");
  const auto it = attrs.find("crop_model_card");
  if (it != attrs.end()) {
    const auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (j.is_object() && j.contains("dedup") && j["dedup"].is_object() && j["dedup"].contains("threshold") &&
        j["dedup"]["threshold"].is_number()) {
      const double t = j["dedup"]["threshold"].get<double>();
      PM_CHECK(t > -1.0 && t <= 1.0, "'" + path + "' /detections attribute 'crop_model_card': dedup.threshold " +
                                         std::to_string(t) + " is not a cosine in (-1, 1]");
      return t;
    }
  }
  return kDefaultThreshold;
}

struct ImagePair {
  std::int64_t a, b;
  float score;
};

}  // namespace

DedupSummary run_dedup_crops(const Comm& comm, const DedupOptions& options_in) {
  const double t0 = now();
  DedupOptions options = options_in;
  DedupSummary s;
  s.on = "crops";
  agreed(comm, "", [&] {
    if (!options.against.empty())
      throw Error("dedup --on crops does not take --against (crops of one run only)");
  });
  agreed(comm, "dedup: reading " + options.input, [&] {
    options.threshold = crop_threshold(options.input, options.threshold);
    s.rows = h5::detection_count(options.input);
    if (s.rows == 0 && h5::read_group_attributes(options.input, "/detections").empty())
      throw Error("'" + options.input + "' has no /detections: dedup --on crops needs a run of extract --detector");
  });
  s.threshold = options.threshold;
  const std::int64_t begin = s.rows * comm.rank() / comm.size();
  const std::int64_t end = s.rows * (comm.rank() + 1) / comm.size();
  NodeBlock fresh;
  fresh.first_node = begin;
  agreed(comm, "dedup: reading the detections of " + options.input, [&] {
    h5::DetectionRows rows = h5::read_detections(options.input, begin, end);
    PM_CHECK(rows.dim > 0 || end == begin, "'" + options.input + "' stores no crop embeddings");
    fresh.dim = rows.dim;
    fresh.embedding = std::move(rows.embedding);
    fresh.usable.assign(static_cast<std::size_t>(end - begin), 1);
    fresh.hash.assign(static_cast<std::size_t>(end - begin), ContentHash{});  // each its own exact group
  });
  fresh.dim = static_cast<int>(comm.allreduce_max(static_cast<std::int64_t>(fresh.dim)));

  const JoinThreads budget(comm, options.threads);
  s.threads = budget.threads();
  const JoinConfig config = join_config(comm, options, s);
  IvfConfig ivf;
  size_ivf(options, s.rows, ivf);
  const NodeResult res = dedup_nodes(comm, std::move(fresh), NodeBlock{}, config, ivf);
  s.index = options.index;
  s.lists = res.quantizer.lists;
  s.probe = res.quantizer.lists > 0 ? std::min(options.probe, res.quantizer.lists) : 0;

  h5::CropDedupOutput out;
  out.first = begin;
  out.threshold = static_cast<float>(options.threshold);
  out.join_precision = s.join_precision;
  out.group = res.group;
  std::vector<std::int64_t> ids;
  for (const auto& p : res.pairs) {
    out.pairs.push_back(std::min(p.a, p.b));
    out.pairs.push_back(std::max(p.a, p.b));
    out.score.push_back(p.score);
    ids.push_back(p.a);
    ids.push_back(p.b);
  }
  // The images of this rank's pairs' objects (read at those ids only: no table of every
  // object's image on any rank).
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<std::int64_t> images;
  agreed(comm, "dedup: reading the images of the object pairs",
         [&] { images = h5::read_detection_images(options.input, ids); });
  const auto image_of = [&](std::int64_t id) {
    return images[static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin())];
  };
  // Image pairs to the rank that owns their first image (rows split evenly by image id).
  std::int64_t image_rows = 0;
  agreed(comm, "", [&] { image_rows = h5::row_count(options.input); });
  std::vector<std::vector<ImagePair>> outgoing(static_cast<std::size_t>(comm.size()));
  for (const auto& p : res.pairs) {
    const std::int64_t ia = image_of(p.a), ib = image_of(p.b);
    if (ia == ib) continue;  // two objects of one image
    const std::int64_t a = std::min(ia, ib), b = std::max(ia, ib);
    const auto owner = static_cast<std::size_t>(a * comm.size() / std::max<std::int64_t>(1, image_rows));
    outgoing[std::min(owner, outgoing.size() - 1)].push_back({a, b, p.score});
  }
  std::map<std::pair<std::int64_t, std::int64_t>, float> merged;
  for (const ImagePair& p : alltoallv_values(comm, outgoing)) {
    auto [it, fresh_pair] = merged.emplace(std::make_pair(p.a, p.b), p.score);
    if (!fresh_pair) it->second = std::max(it->second, p.score);
  }
  for (const auto& [ab, score] : merged) {
    out.image_pairs.push_back(ab.first);
    out.image_pairs.push_back(ab.second);
    out.image_score.push_back(score);
  }
  group_statistics(comm, out.group, begin, s);
  out.groups = s.groups;
  h5::write_dedup_crops(comm, options.input, out);

  s.joined_rows = comm.allreduce_sum(res.joined_rows);
  s.pairs = comm.allreduce_sum(static_cast<std::int64_t>(res.pairs.size()));
  s.image_pairs = comm.allreduce_sum(static_cast<std::int64_t>(merged.size()));
  s.join_seconds = comm.allreduce_max(res.join.seconds);
  s.join_gflop = comm.allreduce_sum(res.join.flops) * 1e-9;
  s.rechecked = comm.allreduce_sum(res.join.rechecked);
  s.seconds = comm.allreduce_max(now() - t0);
  return s;
}

}  // namespace pm::dedup
