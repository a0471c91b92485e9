#include "dedup_core.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "exact_groups.h"
#include "ivf_join.h"
#include "node_ids.h"

namespace pm::dedup {

namespace {

void stage(const JoinConfig& config, const char* name) {
  if (config.on_stage) config.on_stage(name);
}

template <class T>
void release(std::vector<T>& v) {
  std::vector<T>().swap(v);
}

}  // namespace

NodeResult dedup_nodes(const Comm& comm, NodeBlock fresh, NodeBlock older,
                       const JoinConfig& config, const IvfConfig& ivf) {
  // The order keeps the peak at the join (memory_bound.h): the rows are joined first,
  // their embeddings are freed, and only then do the exact groups and the components
  // allocate their per-row arrays.
  NodeResult res;
  stage(config, "dedup start");
  const bool incremental = comm.allreduce_sum(older.rows()) > 0;

  // Near pairs: new x new (self join) and new x old (cross join); old x old was the
  // older runs' work and is not repeated.
  {
    JoinRows home = take_join_rows(fresh);
    release(fresh.usable);
    res.joined_rows = static_cast<std::int64_t>(home.ids.size());
    stage(config, "join rows ready");
    if (ivf.lists > 0 || ivf.reuse) {
      // IVF: lists trained on old and new rows together; old x old pairs are skipped.
      JoinRows visitors = take_join_rows(older);
      release(older.usable);
      const auto t0 = std::chrono::steady_clock::now();
      // No row with an embedding anywhere (every image failed): nothing to train or join.
      const bool any = comm.allreduce_sum(static_cast<std::int64_t>(home.ids.size() + visitors.ids.size())) > 0;
      // Reused lists: the rows' probes decide whether the lists are still even enough, and
      // are the join's probes when they are.
      std::vector<std::vector<std::int32_t>> probes;
      if (any && ivf.reuse) {
        probes = probe_parts(*ivf.reuse, {&visitors, &home}, std::min(ivf.probe, ivf.reuse->lists));
        res.imbalance = list_imbalance(comm, ivf.reuse->lists, probes, std::min(ivf.probe, ivf.reuse->lists));
        res.index_reused = res.imbalance <= ivf.max_imbalance;
        if (!res.index_reused) probes.clear();
      }
      if (res.index_reused) {
        res.quantizer = *ivf.reuse;
      } else if (any) {
        res.quantizer = train_quantizer(comm, {&visitors, &home}, ivf);
      }
      stage(config, "lists trained");
      IvfStats stats;
      // The join takes the rows (and frees them once they are in their lists).
      const std::vector<std::int64_t> fresh_ids = home.ids;
      if (any)
        res.pairs = ivf_join(comm, res.quantizer, std::move(home), std::move(visitors), config,
                             std::min(ivf.probe, res.quantizer.lists), &stats, std::move(probes));
      // The join's time includes the training: both are the price of the index.
      res.join.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      res.join.flops = stats.flops + res.quantizer.flops;
      res.join.rechecked = stats.rechecked;
      res.list_sizes = std::move(stats.list_sizes);
      res.home.assign(static_cast<std::size_t>(fresh.rows()), -1);
      for (std::size_t i = 0; i < stats.fresh_home.size(); ++i)
        res.home[static_cast<std::size_t>(fresh_ids[i] - fresh.first_node)] = stats.fresh_home[i];
    } else {
      res.pairs = ring_self_join(comm, home, config, &res.join);
      if (incremental) {
        JoinRows visitors = take_join_rows(older);
        release(older.usable);
        const auto cross = ring_cross_join(comm, home, visitors, config, &res.join);
        res.pairs.insert(res.pairs.end(), cross.begin(), cross.end());
      }
    }
    release(older.embedding);
    stage(config, "join done");
  }  // the rows are freed here
  sort_pairs(res.pairs);
  stage(config, "rows freed");

  const std::int64_t n_older = older.rows();
  const std::int64_t n_fresh = fresh.rows();
  // The older rows' groups as the earlier runs left them (the group each one recorded,
  // and the regroupings of the runs after it), before tonight's rows join them.
  std::vector<std::int64_t> before;
  if (incremental) before = components(comm, older.prior_edges, older.first_node, n_older);

  // Exact groups over old and new rows together: one all-to-all of the hashes.
  std::vector<std::int64_t> exact;
  {
    std::vector<ContentHash> hashes = std::move(older.hash);
    hashes.insert(hashes.end(), fresh.hash.begin(), fresh.hash.end());
    release(fresh.hash);
    std::vector<std::int64_t> nodes(hashes.size());
    for (std::int64_t i = 0; i < n_older; ++i) nodes[i] = older.first_node + i;
    for (std::int64_t i = 0; i < n_fresh; ++i) nodes[n_older + i] = fresh.first_node + i;
    exact = exact_groups(comm, hashes, nodes);
    stage(config, "exact groups done");
  }
  res.exact_group.assign(exact.begin() + n_older, exact.end());

  auto node_of = [&](std::int64_t i) {
    return i < n_older ? older.first_node + i : fresh.first_node + (i - n_older);
  };
  std::size_t copies = 0;
  for (std::int64_t i = 0; i < n_older + n_fresh; ++i) copies += exact[i] != node_of(i);
  std::vector<Edge> edges;
  edges.reserve(res.pairs.size() + copies + older.prior_edges.size() + fresh.prior_edges.size());
  for (const auto& pr : res.pairs) edges.emplace_back(pr.a, pr.b);
  for (std::int64_t i = 0; i < n_older + n_fresh; ++i)
    if (exact[i] != node_of(i)) edges.emplace_back(node_of(i), exact[i]);
  release(exact);
  edges.insert(edges.end(), older.prior_edges.begin(), older.prior_edges.end());
  edges.insert(edges.end(), fresh.prior_edges.begin(), fresh.prior_edges.end());
  // One forest for both: the fresh rows' groups, and the older rows' groups after
  // tonight, which differ from `before` where fresh rows bridged two older groups.
  auto reps = components(comm, edges, {NodeRange{fresh.first_node, n_fresh},
                                       NodeRange{older.first_node, incremental ? n_older : 0}});
  res.group = std::move(reps[0]);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(before.size()); ++i)
    if (reps[1][i] != before[i]) res.regrouped.emplace_back(older.first_node + i, reps[1][i]);
  stage(config, "components done");
  return res;
}

}  // namespace pm::dedup
