// write_report: the HTML report of one run (see pixelmill/dedup.h).
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "pixelmill/dedup.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/status.h"
#include "report_parts.h"

namespace pm {

namespace {

using dedup::html_escape;

// The directory that a run's keys are relative to ("" when the input was not dir:: a list:
// or HBase run shows images only under an explicit --image-root).
std::string image_root_of(const std::string& path) {
  const auto j = nlohmann::json::parse(h5::read_root_string(path, "parameters"), nullptr, false);
  if (!j.is_object() || !j.contains("input") || !j["input"].is_string()) return "";
  const std::string input = j["input"].get<std::string>();
  return input.rfind("dir:", 0) == 0 ? input.substr(4) : "";
}

// Images are read only under one root: the run's dir: input, or --image-root.
std::string image_path(const std::string& root, const std::string& key) {
  return dedup::contained_image_path(root, key);
}

struct Member {
  std::int64_t id = 0;       // row id as in /dedup (>= N: an older file's row)
  std::string key;
  std::string path;          // image file to show ("" = none)
  float best = 0;            // best score to another member (0: joined by bytes or chain)
  std::int64_t exact_of = -1;  // the row it is a byte-identical copy of, if any
  bool older = false;
};

struct Group {
  std::int64_t id = 0;
  std::vector<Member> members;
};

// Keys and image paths of rows of the older files (ids >= N), resolved through the
// /dedup attribute `against`.
void resolve_older(const std::vector<h5::AgainstFile>& against, std::int64_t n,
                   std::vector<Group>& groups) {
  std::map<std::string, std::string> roots;
  for (Group& g : groups) {
    for (Member& m : g.members) {
      if (m.id < n) continue;
      m.older = true;
      const std::int64_t node = m.id - n;
      for (const h5::AgainstFile& f : against) {
        const std::int64_t off = f.offset, rows = f.rows;
        if (node < off || node >= off + rows) continue;
        const std::string& path = f.path;
        try {
          if (!roots.count(path)) roots[path] = image_root_of(path);
          const auto r = h5::read_images(path, node - off, node - off + 1, false);
          m.key = r.keys.empty() ? "" : r.keys[0];
          m.path = image_path(roots[path], m.key);
        } catch (const Error&) {
          m.key = "(older file " + path + " not readable)";
        }
        break;
      }
    }
  }
}

std::string counts_table(const h5::ImageRows& rows, std::int64_t pairs, std::int64_t groups,
                         std::int64_t in_groups, std::int64_t exact, double threshold,
                         std::int64_t against_rows) {
  std::map<std::string, std::int64_t> by_status;
  for (std::uint8_t s : rows.status) ++by_status[std::string(status_name(static_cast<StatusCode>(s)))];
  std::ostringstream o;
  o << "<table class='counts'>";
  auto row = [&](const std::string& k, const std::string& v) {
    o << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(v) << "</td></tr>";
  };
  row("images", std::to_string(rows.total_rows));
  for (const auto& [name, n] : by_status) row("status " + name, std::to_string(n));
  char t[32];
  std::snprintf(t, sizeof t, "%.3f", threshold);
  row("threshold (cosine)", t);
  row("near-duplicate pairs", std::to_string(pairs));
  row("groups (2 or more images)", std::to_string(groups));
  row("images in groups", std::to_string(in_groups));
  row("byte-identical copies", std::to_string(exact));
  if (against_rows > 0) row("rows of older runs compared", std::to_string(against_rows));
  o << "</table>";
  return o.str();
}

std::vector<float> random_pair_scores(const std::string& path, std::int64_t n, std::int64_t count) {
  // Embeddings of a prefix of the file are enough for the shape of the distribution.
  const std::int64_t take = std::min<std::int64_t>(n, 4000);
  if (take < 2 || count <= 0) return {};
  const auto r = h5::read_images(path, 0, take, true);
  const int d = r.embedding_dim;
  std::vector<std::int64_t> ok;
  for (std::int64_t i = 0; i < take; ++i)
    if (r.status[i] == 0 && static_cast<std::int64_t>(r.embedding.size()) >= (i + 1) * d) ok.push_back(i);
  if (ok.size() < 2 || d == 0) return {};
  std::mt19937_64 gen(12345);
  std::uniform_int_distribution<std::size_t> pick(0, ok.size() - 1);
  std::vector<float> out;
  for (std::int64_t k = 0; k < count; ++k) {
    const std::size_t a = pick(gen), b = pick(gen);
    if (a == b) continue;
    double s = 0;
    for (int x = 0; x < d; ++x) s += double(r.embedding[ok[a] * d + x]) * r.embedding[ok[b] * d + x];
    out.push_back(static_cast<float>(s));
  }
  return out;
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:18px 0 6px}
.top{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
table.counts{border-collapse:collapse;font-size:13px}
table.counts th{text-align:left;padding:2px 10px 2px 0;font-weight:normal;color:#555}
table.counts td{text-align:right;font-variant-numeric:tabular-nums}
.group{border-top:1px solid #ddd;padding:8px 0}
.ghead{font-size:13px;color:#444;margin-bottom:4px}
.strip{display:flex;flex-wrap:wrap;gap:8px}
.cell{width:var(--t);font-size:11px;color:#333;overflow:hidden}
.thumb{width:var(--t);height:var(--t);display:flex;align-items:center;justify-content:center;background:#f3f3f3}
.thumb img{max-width:var(--t);max-height:var(--t);display:block}
.missing{color:#999;font-size:10px;padding:4px;text-align:center;word-break:break-all}
.key{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.badge{display:inline-block;padding:0 4px;border-radius:3px;background:#eee;margin-right:2px}
.exact{background:#d5f5e3} .older{background:#d6eaf8}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
)";

}  // namespace

void check_report_options(const ReportOptions& o) {
  if (o.input.empty() || o.output.empty()) throw Error("report: --input and --out are required");
  if (o.max_groups < 0) throw Error("--max-groups cannot be negative, got " + std::to_string(o.max_groups));
  if (o.max_members < 0)
    throw Error("--max-members cannot be negative, got " + std::to_string(o.max_members));
  if (o.thumb_px < 16 || o.thumb_px > 1024)
    throw Error("--thumb must be in 16..1024 pixels, not " + std::to_string(o.thumb_px));
  if (o.random_pairs < 0) throw Error("report: random_pairs cannot be negative");
}

ReportSummary write_report(const ReportOptions& options) {
  check_report_options(options);
  PM_CHECK(h5::has_dedup(options.input),
           "report: '" + options.input + "' has no /dedup results (run pixelmill dedup first; "
           "dedup --on crops adds the object sections)");
  ReportSummary summary;
  // The readers check every id against the rows it may name (ids >= N: older files'
  // rows), so the ids below index `rows`, `group` and `exact` only where they are < N.
  const h5::DedupInfo info = h5::read_dedup_info(options.input);
  const std::int64_t n = info.rows;
  const h5::ImageRows rows = h5::read_images(options.input, 0, n, /*with_embeddings=*/false);
  const h5::DedupGroups ids = h5::read_dedup_groups(options.input, 0, n);
  const auto& group = ids.group;
  const auto& exact = ids.exact_group;
  const std::int64_t m = info.pairs;
  const h5::DedupPairs pair_rows = h5::read_dedup_pairs(options.input, 0, m);
  const auto& pairs = pair_rows.pairs;
  const auto& scores = pair_rows.score;
  const double threshold = info.threshold;
  const std::int64_t against_rows = info.against_rows;
  const std::string root = options.image_root.empty() ? image_root_of(options.input) : options.image_root;

  // Members per group id; older rows enter through the pairs that reach them.
  std::map<std::int64_t, std::set<std::int64_t>> members;
  std::map<std::int64_t, float> best;
  for (std::int64_t i = 0; i < n; ++i) members[group[i]].insert(i);
  for (std::int64_t k = 0; k < m; ++k) {
    const std::int64_t a = pairs[2 * k], b = pairs[2 * k + 1];
    for (std::int64_t x : {a, b}) best[x] = std::max(best[x], scores[k]);
    if (b >= n && a < n) members[group[a]].insert(b);
  }
  for (auto& [gid, set] : members)
    if (gid >= n) set.insert(gid);  // the older row that names the group
  std::vector<Group> groups;
  std::int64_t in_groups = 0, exact_copies = 0;
  for (std::int64_t i = 0; i < n; ++i)
    if (exact[i] != i) ++exact_copies;
  for (const auto& [gid, set] : members) {
    if (set.size() < 2) continue;
    Group g;
    g.id = gid;
    for (std::int64_t id : set) {
      Member mem;
      mem.id = id;
      if (id < n) {
        mem.key = rows.keys[id];
        mem.path = image_path(root, mem.key);
        mem.exact_of = exact[id] != id ? exact[id] : -1;
        ++in_groups;
      }
      const auto b = best.find(id);
      mem.best = b == best.end() ? 0.f : b->second;
      g.members.push_back(std::move(mem));
    }
    groups.push_back(std::move(g));
  }
  summary.groups = static_cast<std::int64_t>(groups.size());
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return a.members.size() > b.members.size();
  });
  if (static_cast<std::int64_t>(groups.size()) > options.max_groups) groups.resize(options.max_groups);
  resolve_older(info.against, n, groups);

  // extract --detector: each image's objects are drawn on its thumbnail.
  std::map<std::int64_t, std::vector<std::array<float, 4>>> boxes;
  h5::DetectionRows objects;
  if (const std::int64_t count = h5::detection_count(options.input); count > 0) {
    objects = h5::read_detections(options.input, 0, count, /*with_embeddings=*/false);
    for (std::size_t k = 0; k < objects.image.size(); ++k)
      boxes[objects.image[k]].push_back(
          {objects.box[4 * k], objects.box[4 * k + 1], objects.box[4 * k + 2], objects.box[4 * k + 3]});
  }
  const auto thumb = [&](const std::string& path, std::int64_t id) {
    if (path.empty()) return std::string();
    const auto it = boxes.find(id);
    if (it == boxes.end()) return dedup::thumbnail_data_uri(path, options.thumb_px);
    summary.boxes += static_cast<std::int64_t>(it->second.size());
    return dedup::thumbnail_data_uri(path, options.thumb_px, it->second);
  };
  // Opens a member's cell (thumbnail and key line); the caller adds its badges and closes it.
  const auto cell = [&](std::ostringstream& html, std::int64_t id, const std::string& key, const std::string& uri) {
    html << "<div class='cell'><div class='thumb'>";
    if (uri.empty()) {
      ++summary.missing_images;
      html << "<div class='missing'>no image<br>" << html_escape(key) << "</div>";
    } else {
      ++summary.thumbnails;
      html << "<img alt='" << html_escape(key) << "' src='" << uri << "'>";
    }
    html << "</div><div class='key' title='" << html_escape(key) << "'>#" << id << " " << html_escape(key) << "</div>";
  };

  std::vector<float> kept(scores.begin(), scores.end());
  const std::string svg = dedup::histogram_svg(
      random_pair_scores(options.input, n, options.random_pairs), kept, threshold, 560, 200);

  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>pixelmill duplicates: "
       << html_escape(std::filesystem::path(options.input).filename().string())
       << "</title><style>" << kStyle << "</style></head><body style='--t:" << options.thumb_px << "px'>";
  html << "<h1>Duplicate groups in " << html_escape(options.input) << "</h1>";
  html << "<div class='top'>"
       << counts_table(rows, m, summary.groups, in_groups, exact_copies, threshold, against_rows)
       << "<div><div class='legend' style='font-size:12px'>cosine similarity:<span style='background:#bbb'></span>random pairs"
       << "<span style='background:#e67e22'></span>kept pairs (each series scaled to its tallest bar)"
       << "<span style='background:#c0392b;height:2px'></span>threshold</div>" << svg << "</div></div>";
  html << "<h2>Groups, largest first (" << groups.size() << " of " << summary.groups << " shown)</h2>";
  for (const Group& g : groups) {
    html << "<div class='group' id='g" << g.id << "'><div class='ghead'>group " << g.id << " &middot; "
         << g.members.size() << " images</div><div class='strip'>";
    int shown = 0;
    for (const Member& mem : g.members) {
      if (shown++ >= options.max_members) {
        html << "<div class='cell'>+" << (g.members.size() - options.max_members) << " more</div>";
        break;
      }
      cell(html, mem.id, mem.key, thumb(mem.path, mem.id));
      char score[32];
      std::snprintf(score, sizeof score, "%.3f", mem.best);
      html << "<div>";
      if (mem.best > 0) html << "<span class='badge'>best " << score << "</span>";
      if (mem.exact_of >= 0) html << "<span class='badge exact'>same bytes as #" << mem.exact_of << "</span>";
      if (mem.older) html << "<span class='badge older'>older run</span>";
      html << "</div></div>";
    }
    html << "</div></div>";
    ++summary.groups_shown;
  }
  // dedup --on crops: groups of near-duplicate objects (their crops), largest first.
  const h5::CropImagePairs crop = h5::read_crop_image_pairs(options.input);
  std::map<std::int64_t, std::vector<std::int64_t>> object_groups;
  for (std::size_t k = 0; k < crop.group.size(); ++k) object_groups[crop.group[k]].push_back(static_cast<std::int64_t>(k));
  std::vector<const std::vector<std::int64_t>*> shown_groups;
  for (const auto& [gid, in_group] : object_groups)
    if (in_group.size() >= 2) shown_groups.push_back(&in_group);
  const std::size_t object_group_count = shown_groups.size();
  std::stable_sort(shown_groups.begin(), shown_groups.end(), [](const auto* a, const auto* b) { return a->size() > b->size(); });
  if (static_cast<std::int64_t>(shown_groups.size()) > options.max_groups)
    shown_groups.resize(static_cast<std::size_t>(options.max_groups));
  if (!shown_groups.empty()) {
    html << "<h2>Object groups, largest first (" << shown_groups.size() << " of " << object_group_count
         << " groups of two or more objects from dedup --on crops)</h2>";
    for (const auto* in_group : shown_groups) {
      html << "<div class='group'><div class='ghead'>object group " << in_group->front() << " &middot; "
           << in_group->size() << " objects</div><div class='strip'>";
      int shown = 0;
      for (std::int64_t k : *in_group) {
        if (shown++ >= options.max_members) {
          html << "<div class='cell'>+" << (in_group->size() - static_cast<std::size_t>(options.max_members))
               << " more</div>";
          break;
        }
        const auto u = static_cast<std::size_t>(k);
        const std::int64_t row = objects.image[u];
        const std::string& key = rows.keys[static_cast<std::size_t>(row)];
        const std::string path = image_path(root, key);
        const std::string uri =
            path.empty() ? ""
                         : dedup::crop_thumbnail_data_uri(path, options.thumb_px,
                                                          {objects.box[4 * u], objects.box[4 * u + 1],
                                                           objects.box[4 * u + 2], objects.box[4 * u + 3]});
        cell(html, row, key, uri);
        char score[32];
        std::snprintf(score, sizeof score, "%.3f", objects.score[u]);
        html << "<div><span class='badge'>object " << k << ", score " << score << "</span></div></div>";
      }
      html << "</div></div>";
      ++summary.object_groups_shown;
    }
  }
  // Image pairs that share an object, best first.
  if (!crop.score.empty()) {
    std::vector<std::size_t> order(crop.score.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return crop.score[a] > crop.score[b]; });
    if (static_cast<std::int64_t>(order.size()) > options.max_groups) order.resize(static_cast<std::size_t>(options.max_groups));
    html << "<h2>Images that share an object (" << order.size() << " of " << crop.score.size()
         << " pairs from dedup --on crops, best first)</h2>";
    for (std::size_t k : order) {
      char score[32];
      std::snprintf(score, sizeof score, "%.3f", crop.score[k]);
      html << "<div class='group'><div class='ghead'>object cosine " << score << "</div><div class='strip'>";
      for (int side = 0; side < 2; ++side) {
        const std::int64_t id = crop.pairs[2 * k + static_cast<std::size_t>(side)];
        const std::string& key = rows.keys[static_cast<std::size_t>(id)];
        cell(html, id, key, thumb(image_path(root, key), id));
        html << "</div>";
      }
      html << "</div></div>";
      ++summary.crop_pairs_shown;
    }
  }
  html << "</body></html>\n";
  std::ofstream out(options.output, std::ios::binary);
  PM_CHECK(out.good(), "report: cannot write '" + options.output + "'");
  out << html.str();
  PM_CHECK(out.good(), "report: error writing '" + options.output + "'");
  return summary;
}

}  // namespace pm
