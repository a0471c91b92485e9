// The join kernel: all pairs (a, b) between two blocks of L2-normalised embeddings
// with cosine >= threshold. BlockJoiner runs oneDNN matmuls tile by tile (memory: one
// tile x tile float scratch); join_reference is the plain double loop used as oracle.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace pm::dedup {

// A view of `rows` embeddings (row-major, `dim` floats each) and their node ids.
// Within a block the ids are strictly increasing.
struct BlockView {
  const float* data = nullptr;
  const std::int64_t* ids = nullptr;
  std::int64_t rows = 0;
  int dim = 0;
};

struct ScoredPair {
  std::int64_t a = 0;  // smaller node id
  std::int64_t b = 0;  // larger node id
  float score = 0;
  friend bool operator==(const ScoredPair&, const ScoredPair&) = default;
};

// Scores within this distance of the threshold are recomputed in double with a fixed
// summation order, so whether a pair is kept does not depend on the tiling (and hence
// on the rank count).
inline constexpr float kBorderBand = 1e-4f;

// Exact dot product in double, fixed order: the tie-breaker for border scores.
double exact_dot(const float* x, const float* y, int dim);

// Plain double loop. `same_block`: a and b are the same block; only i < j is reported.
void join_reference(const BlockView& a, const BlockView& b, bool same_block, float threshold,
                    std::vector<ScoredPair>& out);

class BlockJoiner {
 public:
  // `tile` is the side of the square matmul tile (scratch = tile * tile floats).
  BlockJoiner(int dim, float threshold, std::int64_t tile = 1024);
  BlockJoiner(const BlockJoiner&) = delete;
  BlockJoiner& operator=(const BlockJoiner&) = delete;

  // Appends the pairs of a x b with score >= threshold (ids ordered a < b in each pair).
  void join(const BlockView& a, const BlockView& b, bool same_block,
            std::vector<ScoredPair>& out);
  double flops() const { return flops_; }  // multiply-adds x 2 done so far

  // Bytes of oneDNN scratchpad one tile x tile matmul of `dim` asks for (held by the
  // library while it runs): a term of the memory bound.
  static std::int64_t scratchpad_bytes(int dim, std::int64_t tile);

 private:
  dnnl::matmul& primitive(std::int64_t m, std::int64_t n);
  void tile(const BlockView& a, std::int64_t i0, std::int64_t m, const BlockView& b,
            std::int64_t j0, std::int64_t n, bool diagonal, std::vector<ScoredPair>& out);

  int dim_;
  float threshold_;
  std::int64_t tile_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<std::pair<std::int64_t, std::int64_t>, dnnl::matmul> primitives_;
  std::vector<float> scratch_;
  double flops_ = 0;
};

}  // namespace pm::dedup
