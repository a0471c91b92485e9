#include "memory_bound.h"

#include <gtest/gtest.h>

namespace pm::dedup {
namespace {

TEST(MemoryBound, TermsOfTheBenchRun) {
  // 100k rows on 2 ranks, dim 512, block 8192, tile 1024: the join phase is the peak.
  MemoryParams p;
  p.baseline_bytes = 20 << 20;
  p.rows = 50000;
  p.travel_rows = 50000;
  p.dim = 512;
  p.block_rows = 8192;
  p.tile = 1024;
  p.scratchpad_bytes = 4096;
  p.pairs = 3000;
  const MemoryBound b = dedup_memory_bound(p);
  EXPECT_EQ(b.baseline, 20 << 20);
  EXPECT_EQ(b.rows, 50000LL * 512 * 4);
  EXPECT_EQ(b.bookkeeping, 50000LL * (8 + 32));
  EXPECT_EQ(b.blocks, 2LL * 8192 * (512 * 4 + 8));
  EXPECT_EQ(b.tile, 1024LL * 1024 * 4 + 4096);
  p.bf16 = true;  // plus the two bf16 copies of a tile of rows
  EXPECT_EQ(dedup_memory_bound(p).tile, 1024LL * 1024 * 4 + 4096 + 2LL * 1024 * 512 * 2);
  p.bf16 = false;
  EXPECT_EQ(b.kernels, kJoinerLibraryBytes);
  EXPECT_EQ(b.pairs, 2LL * 3000 * 24);
  EXPECT_EQ(b.join, b.rows + b.bookkeeping + b.blocks + b.tile + b.kernels + b.pairs);
  EXPECT_GT(b.join, b.prepare);
  EXPECT_GT(b.join, b.grouping);
  EXPECT_EQ(b.total, b.baseline + b.join);
}

TEST(MemoryBound, RingBuffersNoLargerThanTheBlocks) {
  MemoryParams p;
  p.rows = 100;
  p.travel_rows = 100;
  p.dim = 4;
  p.block_rows = 8192;
  p.tile = 1024;
  EXPECT_EQ(dedup_memory_bound(p).blocks, 2 * 100 * (4 * 4 + 8));
}

TEST(MemoryBound, GroupingIsThePeakWithoutEmbeddings) {
  MemoryParams p;
  p.rows = 100000;
  p.travel_rows = 100000;
  p.dim = 1;
  p.block_rows = 64;
  p.tile = 16;
  const MemoryBound b = dedup_memory_bound(p);
  EXPECT_EQ(b.total, b.grouping);
  EXPECT_GE(b.grouping, 100000 * kGroupingBytesPerRow);
}

TEST(MemoryBound, TileSides) {
  EXPECT_EQ(join_tile_sides({50000}, 8192, 1024), (std::vector<std::int64_t>{848, 1024}));
  EXPECT_EQ(join_tile_sides({500000}, 8192, 1024), (std::vector<std::int64_t>{288, 1024}));
  EXPECT_EQ(join_tile_sides({100}, 64, 16), (std::vector<std::int64_t>{4, 16}));
}

}  // namespace
}  // namespace pm::dedup
