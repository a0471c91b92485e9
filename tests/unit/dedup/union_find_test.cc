#include "union_find.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace pm::dedup {
namespace {

TEST(UnionFind, RepresentativeIsSmallestNode) {
  UnionFind uf;
  uf.unite(9, 4);
  uf.unite(7, 9);
  uf.unite(12, 13);
  EXPECT_EQ(uf.find(7), 4);
  EXPECT_EQ(uf.find(9), 4);
  EXPECT_EQ(uf.find(13), 12);
  EXPECT_EQ(uf.find(100), 100);  // never united: its own group
  uf.unite(13, 7);
  EXPECT_EQ(uf.find(12), 4);
  EXPECT_EQ(uf.find(-3), -3);
}

TEST(UnionFind, CompressedForestHasOneEdgePerNonRoot) {
  UnionFind uf;
  uf.unite(1, 2);
  uf.unite(2, 3);
  uf.unite(5, 6);
  const auto f = uf.compressed();
  const std::vector<Edge> want{{2, 1}, {3, 1}, {6, 5}};
  EXPECT_EQ(f, want);
}

TEST(UnionFind, OrderOfUnionsDoesNotMatter) {
  std::mt19937 gen(3);
  std::vector<Edge> edges;
  std::uniform_int_distribution<std::int64_t> node(0, 199);
  for (int i = 0; i < 150; ++i) edges.emplace_back(node(gen), node(gen));
  const auto want = components_reference(edges, 0, 200);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(edges.begin(), edges.end(), gen);
    for (auto& e : edges)
      if (gen() % 2) std::swap(e.first, e.second);
    EXPECT_EQ(components_reference(edges, 0, 200), want);
  }
  // Each representative is the smallest member of its component.
  for (std::int64_t i = 0; i < 200; ++i) {
    EXPECT_LE(want[i], i);
    EXPECT_EQ(want[want[i]], want[i]);
  }
}

TEST(UnionFind, LongChainResolves) {
  UnionFind uf;
  for (std::int64_t i = 100000; i > 0; --i) uf.unite(i, i - 1);
  EXPECT_EQ(uf.find(100000), 0);
  EXPECT_EQ(uf.compressed().size(), 100000u);
}

}  // namespace
}  // namespace pm::dedup
