// Precision, recall and F1 of predicted duplicate groups against the labelled set.
#include <bit>
#include <cstdio>
#include <sstream>
#include <unordered_map>

#include "pixelmill/dedup_eval.h"
#include "union_find.h"

namespace pm::eval {

Evaluation evaluate(const EvalSet& set, const std::vector<std::string>& keys,
                    const std::vector<std::int64_t>& group) {
  std::unordered_map<std::string, const EvalImage*> by_key;
  for (const EvalImage& e : set.images) by_key[e.key] = &e;
  struct Row {
    const EvalImage* image;
    std::int64_t group;
  };
  std::vector<Row> rows;
  std::unordered_map<int, std::size_t> original_of;  // label -> row of its original
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto it = by_key.find(keys[i]);
    if (it == by_key.end()) continue;  // not part of the set
    if (it->second->transform == "original") original_of[it->second->label] = rows.size();
    rows.push_back({it->second, group[i]});
  }
  Evaluation ev;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = i + 1; j < rows.size(); ++j) {
      const bool same_label = rows[i].image->label == rows[j].image->label;
      const bool same_group = rows[i].group == rows[j].group;
      if (same_label && same_group) ++ev.overall.tp;
      if (!same_label && same_group) ++ev.overall.fp;
      if (same_label && !same_group) ++ev.overall.fn;
      // Wrong links count against the transform of each image in them.
      if (!same_label && same_group) {
        ++ev.by_transform[rows[i].image->transform].fp;
        ++ev.by_transform[rows[j].image->transform].fp;
      }
    }
  }
  // Recall per transform: is the variant in its source photo's group?
  for (const Row& r : rows) {
    const std::string& t = r.image->transform;
    if (t == "original" || t == "distractor") continue;
    const auto o = original_of.find(r.image->label);
    if (o == original_of.end()) continue;
    if (rows[o->second].group == r.group) {
      ++ev.by_transform[t].tp;
    } else {
      ++ev.by_transform[t].fn;
    }
  }
  return ev;
}

std::vector<std::int64_t> groups_by_cosine(const std::vector<float>& embedding, int dim,
                                           const std::vector<std::uint8_t>& ok, double threshold) {
  const std::size_t n = ok.size();
  dedup::UnionFind uf;
  for (std::size_t i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    for (std::size_t j = i + 1; j < n; ++j) {
      if (!ok[j]) continue;
      double s = 0;
      for (int k = 0; k < dim; ++k) s += double(embedding[i * dim + k]) * embedding[j * dim + k];
      if (s >= threshold) uf.unite(static_cast<std::int64_t>(i), static_cast<std::int64_t>(j));
    }
  }
  std::vector<std::int64_t> g(n);
  for (std::size_t i = 0; i < n; ++i) g[i] = uf.find(static_cast<std::int64_t>(i));
  return g;
}

std::vector<std::int64_t> groups_by_hamming(const std::vector<std::uint64_t>& phash,
                                            const std::vector<std::uint8_t>& ok, int max_distance) {
  const std::size_t n = ok.size();
  dedup::UnionFind uf;
  for (std::size_t i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    for (std::size_t j = i + 1; j < n; ++j)
      if (ok[j] && std::popcount(phash[i] ^ phash[j]) <= max_distance)
        uf.unite(static_cast<std::int64_t>(i), static_cast<std::int64_t>(j));
  }
  std::vector<std::int64_t> g(n);
  for (std::size_t i = 0; i < n; ++i) g[i] = uf.find(static_cast<std::int64_t>(i));
  return g;
}

std::string format_table(const std::vector<std::pair<std::string, Evaluation>>& methods) {
  std::ostringstream o;
  char buf[64];
  o << "| transform |";
  for (const auto& [name, ev] : methods) o << ' ' << name << " P | R | F1 |";
  o << "\n|---|";
  for (std::size_t m = 0; m < methods.size(); ++m) o << "---:|---:|---:|";
  o << "\n";
  std::vector<std::string> rows = transform_names();
  rows.push_back("distractor");
  for (const std::string& t : rows) {
    o << "| " << t << " |";
    for (const auto& [name, ev] : methods) {
      const auto it = ev.by_transform.find(t);
      const Scores s = it == ev.by_transform.end() ? Scores{} : it->second;
      if (t == "distractor") {
        std::snprintf(buf, sizeof buf, " %lld wrong links | | |", static_cast<long long>(s.fp));
      } else {
        std::snprintf(buf, sizeof buf, " %.3f | %.3f | %.3f |", s.precision(), s.recall(), s.f1());
      }
      o << buf;
    }
    o << "\n";
  }
  o << "| **overall (all pairs)** |";
  for (const auto& [name, ev] : methods) {
    std::snprintf(buf, sizeof buf, " **%.3f** | **%.3f** | **%.3f** |", ev.overall.precision(),
                  ev.overall.recall(), ev.overall.f1());
    o << buf;
  }
  o << "\n";
  return o.str();
}

}  // namespace pm::eval
