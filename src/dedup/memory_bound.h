// The peak resident memory of one rank of dedup_nodes (dedup_core.h), predicted from its
// parameters before the run. Every term but the baseline is a buffer the code allocates
// or a fixed cost of the library it calls; the baseline is measured: the process's RSS
// with its libraries, MPI, OpenMP and oneDNN loaded and warmed up, before any rows are
// made or read. pm_dedup_bench prints the terms, the bound and the measured peak; README's
// dedup section documents the same formula.
//
// dedup_nodes runs in three phases, and the peak is the largest of them:
//   prepare   the rows are normalised in place: embeddings + ids + hashes + usable flags
//   join      embeddings + ids + hashes, the two ring buffers, the matmul tile, oneDNN's
//             scratchpad and matmul objects, and the pairs found so far
//   grouping  after the embeddings are freed: the exact-group all-to-all of the hashes,
//             then the edges and the union-find of the components
// With dim 512 an embedding is 2 KiB and the join phase is the peak by far.
#pragma once

#include <cstdint>
#include <vector>

namespace pm::dedup {

struct MemoryParams {
  std::int64_t baseline_bytes = 0;    // measured RSS of the process before any data
  std::int64_t rows = 0;              // input rows this rank holds (fresh + older files)
  std::int64_t travel_rows = 0;       // most rows any rank sends around the ring
  int dim = 0;                        // embedding dimension
  std::int64_t block_rows = 8192;     // JoinConfig::block_rows
  std::int64_t tile = 1024;           // JoinConfig::tile
  std::int64_t scratchpad_bytes = 0;  // BlockJoiner::scratchpad_bytes(dim, tile, precision)
  bool bf16 = false;                  // --join-precision bf16: two bf16 tiles of rows
  std::int64_t pairs = 0;             // pairs this rank finds (all pairs bound it)
};

// Bytes per term (a row's usable flag is 1 byte, a ScoredPair 24).
struct MemoryBound {
  std::int64_t baseline = 0;     // measured
  std::int64_t rows = 0;         // rows * dim * 4: the embeddings, normalised in place
  std::int64_t bookkeeping = 0;  // rows * (8 id + 32 hash) kept through the join
  std::int64_t blocks = 0;       // 2 ring buffers * min(block_rows, travel_rows) * (dim * 4 + 8)
  std::int64_t tile = 0;         // tile * tile * 4 (scores) + oneDNN scratchpad
                                 // (+ 2 * tile * dim * 2 in bf16: the converted rows)
  std::int64_t kernels = 0;      // kJoinerLibraryBytes: oneDNN's matmuls and their buffers
  std::int64_t pairs = 0;        // 2 * pairs * 24 (the pair vector grows by doubling)
  std::int64_t prepare = 0;      // phase totals, without the baseline
  std::int64_t join = 0;
  std::int64_t grouping = 0;
  std::int64_t total = 0;        // baseline + the largest phase
};

// Bytes per row of the grouping phase, worst case (every row a byte-identical copy):
// hashes gathered for the all-to-all (32), node ids (8), group ids (8), the records
// to send (48, up to twice that while the per-rank vectors grow), the packed send buffer
// (48) and the received records (48).
inline constexpr std::int64_t kGroupingBytesPerRow = 32 + 8 + 8 + 2 * 48 + 48 + 48;
// Bytes per union-find node of the components (hash-map node and bucket, and the
// compressed forest it sends): at most 2 per edge.
inline constexpr std::int64_t kUnionFindBytesPerNode = 80;

// What one BlockJoiner holds in oneDNN beyond its tile buffers: two matmul primitives
// (the full tile's brgemm, and one with runtime M and N for every edge tile, which oneDNN
// 2.6 runs as its jit gemm), their compiled code, and the packing buffers the gemm
// allocates at each call (with the heap they leave behind). `pm_dedup_bench objects`
// measures it as the RSS a joiner adds after repeated joins of full and edge tiles: at
// most 16.4 MiB (fp32, 1 thread; fp32 2 threads 8.6, bf16 10.7 and 11.9 MiB).
inline constexpr std::int64_t kJoinerLibraryBytes = 16 * 1024 * 1024 + 512 * 1024;

// Sides of the matmul tiles a join of blocks with these row counts uses: the full tile and
// the remainders of the blocks, the chunks and the tiles (the shapes pm_dedup_bench warms
// up before it measures its baseline).
std::vector<std::int64_t> join_tile_sides(const std::vector<std::int64_t>& rows,
                                          std::int64_t block_rows, std::int64_t tile);

MemoryBound dedup_memory_bound(const MemoryParams& p);

}  // namespace pm::dedup
