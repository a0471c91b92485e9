// Dedup on rows already in memory, independent of files: exact groups, the ring join and
// the components. run_dedup (dedup.cc) reads the files, calls this and writes /dedup.
//
// Node ids: the rows of the older files are nodes 0..M-1, the rows of the input file are
// nodes M..M+N-1, so an older row is always smaller than a new one and stays the id of
// any group it is in.
#pragma once

#include <cstdint>
#include <vector>

#include "block_join.h"
#include "ivf_lists.h"
#include "pixelmill/comm.h"
#include "pixelmill/image_result.h"
#include "ring_join.h"
#include "union_find.h"

namespace pm::dedup {

// One rank's contiguous share of nodes [first_node, first_node + rows()).
struct NodeBlock {
  std::int64_t first_node = 0;
  int dim = 0;
  std::vector<std::uint8_t> usable;    // 1: status ok with an embedding (joined)
  std::vector<float> embedding;        // [rows, dim]; rows not usable are ignored
  std::vector<ContentHash> hash;       // zero: bytes unreadable (own exact group)
  std::vector<Edge> prior_edges;       // groups an older run already found (node, node)
  std::int64_t rows() const { return static_cast<std::int64_t>(hash.size()); }
};

struct NodeResult {
  std::vector<std::int64_t> exact_group;  // per fresh row of this rank, node ids
  std::vector<std::int64_t> group;        // per fresh row of this rank, node ids
  std::vector<ScoredPair> pairs;          // this rank's share of the pairs, sorted
  // Older rows of this rank whose group this run changed: (older node, its new group),
  // the new group always a smaller (older) node. Fresh rows bridged the row's group to
  // a group with a smaller id; `prior_edges` say what the groups were before.
  std::vector<Edge> regrouped;
  std::int64_t joined_rows = 0;           // usable fresh rows on this rank
  JoinStats join;
  Quantizer quantizer;                    // the IVF join's lists (lists == 0: exact join)
  std::vector<std::int64_t> list_sizes;   // IVF: rows stored in each list, all ranks
  std::vector<std::int32_t> home;         // IVF: per fresh row of this rank, its nearest list (-1: not joined)
  bool index_reused = false;              // IVF: the lists of ivf.reuse were kept
  double imbalance = 0;                   // IVF: the reused lists' imbalance (0: not measured)
};

// L2-normalises the usable rows of `block` into join rows (rows of norm 0 are dropped).
JoinRows join_rows(const NodeBlock& block);
// The same, taking the block's embedding buffer (left empty) instead of copying it.
JoinRows take_join_rows(NodeBlock& block);

// Collective. `fresh`: this rank's share of the input rows; `older`: its share of the
// older files' rows (may be empty). The near groups contain the exact groups, the pairs
// and the older groups (`prior_edges`).
// Takes the blocks by value: their embeddings become the join's buffers (pass with
// std::move to keep one copy of the rows in memory).
// `ivf.lists > 0`: the IVF join (ivf_join.h) instead of the all-pairs ring join.
NodeResult dedup_nodes(const Comm& comm, NodeBlock fresh, NodeBlock older,
                       const JoinConfig& config, const IvfConfig& ivf = {});

// Reference on one process: all rows in `all` (nodes first_node..), `fresh_first` the
// first fresh node; pairs among fresh rows and fresh-older, not older-older.
NodeResult dedup_nodes_reference(const NodeBlock& all, std::int64_t fresh_first,
                                 float threshold);

}  // namespace pm::dedup
