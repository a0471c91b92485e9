#include "exact_groups.h"

#include <gtest/gtest.h>

#include "dedup_core.h"

namespace pm::dedup {
namespace {

ContentHash hash_of(std::uint8_t v) {
  ContentHash h{};
  h.fill(v);
  return h;
}

TEST(ExactGroups, SmallestNodeWithTheSameHash) {
  const std::vector<ContentHash> hashes{hash_of(1), hash_of(2), hash_of(1), hash_of(0),
                                        hash_of(0), hash_of(2), hash_of(3)};
  const std::vector<std::int64_t> nodes{10, 11, 12, 13, 14, 15, 16};
  const auto g = exact_groups_reference(hashes, nodes);
  const std::vector<std::int64_t> want{10, 11, 10, 13, 14, 11, 16};
  EXPECT_EQ(g, want);  // zero hashes (unreadable bytes) are never grouped
}

TEST(ExactGroups, NodeOrderNotInputOrder) {
  const std::vector<ContentHash> hashes{hash_of(7), hash_of(7)};
  const auto g = exact_groups_reference(hashes, {5, 2});
  EXPECT_EQ(g, (std::vector<std::int64_t>{2, 2}));
}

TEST(DedupReference, GroupsJoinExactAndNearAndOlder) {
  // Nodes 0..1 are older rows, 2..6 new. dim 2.
  NodeBlock all;
  all.first_node = 0;
  all.dim = 2;
  all.embedding = {1, 0,  0, 1,  0.99f, 0.141f,  0, 1,  1, 0,  -1, 0,  0, 0};
  all.usable = {1, 1, 1, 1, 0, 1, 1};
  all.hash = {hash_of(1), hash_of(2), hash_of(3), hash_of(4), hash_of(5), hash_of(6),
              hash_of(5)};
  const NodeResult r = dedup_nodes_reference(all, 2, 0.9f);
  // Node 6 has a zero embedding (not joined) but the same bytes as node 4.
  EXPECT_EQ(r.exact_group, (std::vector<std::int64_t>{2, 3, 4, 5, 4}));
  EXPECT_EQ(r.group, (std::vector<std::int64_t>{0, 1, 4, 5, 4}));
  EXPECT_EQ(r.joined_rows, 3);  // nodes 2, 3, 5 (4 unusable, 6 zero norm)
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[0].a, 0);
  EXPECT_EQ(r.pairs[0].b, 2);
  EXPECT_EQ(r.pairs[1].a, 1);
  EXPECT_EQ(r.pairs[1].b, 3);
}

}  // namespace
}  // namespace pm::dedup
