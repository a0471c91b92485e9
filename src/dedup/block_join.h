// The join kernel: all pairs (a, b) between two blocks of L2-normalised embeddings
// with cosine >= threshold. BlockJoiner runs oneDNN matmuls tile by tile (memory: one
// tile x tile float scratch); join_reference is the plain double loop used as oracle.
// In bf16 the matmul only proposes candidates: every score within a proven error bound
// of the threshold is recomputed exactly, so the pairs are the fp32 join's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
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

// The matmul's input precision. kBF16: rows rounded to bfloat16 (accumulated in fp32)
// propose candidates; every candidate is confirmed, and its score computed, by exact_dot.
enum class JoinPrecision { kF32, kBF16 };

// "fp32" / "bf16"; parse_join_precision throws pm::Error for any other name.
const char* join_precision_name(JoinPrecision p);
JoinPrecision parse_join_precision(const std::string& name);

// Whether this CPU multiplies bf16 natively (AVX512_BF16 or AMX); without it oneDNN
// emulates bf16, slower than fp32, and callers fall back to kF32.
bool cpu_has_bf16_matmul();

// A bound on |bf16 matmul score - exact dot| for two rows of norms at most `norm_a`,
// `norm_b` of `dim` elements: rounding each element to bf16 (relative error u = 2^-8,
// round to nearest even) and summing `dim` exact products in fp32 (gamma_dim, u = 2^-24),
// plus 1e-6 for elements flushed as denormals. For unit rows of dim 512: 0.0079.
double bf16_score_bound(int dim, double norm_a, double norm_b);

// Fills `out[r * dim + k]` with x[r * dim + k] rounded to bf16 (nearest even) for `rows`
// rows and returns the largest row norm (computed in double from the fp32 values).
double to_bf16_rows(const float* x, std::int64_t rows, int dim, std::uint16_t* out);

// Plain double loop. `same_block`: a and b are the same block; only i < j is reported.
void join_reference(const BlockView& a, const BlockView& b, bool same_block, float threshold,
                    std::vector<ScoredPair>& out);

class BlockJoiner {
 public:
  // `tile` is the side of the square matmul tile (scratch = tile * tile floats, and in
  // bf16 two tile x dim bf16 copies of the rows being multiplied).
  BlockJoiner(int dim, float threshold, std::int64_t tile = 1024,
              JoinPrecision precision = JoinPrecision::kF32);
  BlockJoiner(const BlockJoiner&) = delete;
  BlockJoiner& operator=(const BlockJoiner&) = delete;

  // Appends the pairs of a x b with score >= threshold (ids ordered a < b in each pair).
  // `skip`, when given, is asked about each candidate (row i of a, row j of b) before its
  // score is recomputed or kept: true drops it (a pair that is kept elsewhere).
  using Skip = std::function<bool(std::int64_t i, std::int64_t j)>;
  void join(const BlockView& a, const BlockView& b, bool same_block,
            std::vector<ScoredPair>& out, const Skip& skip = nullptr);
  double flops() const { return flops_; }  // multiply-adds x 2 done so far
  // Candidates recomputed by exact_dot so far (border scores; in bf16 every candidate).
  std::int64_t rechecked() const { return rechecked_; }

  // Bytes of oneDNN scratchpad one tile x tile matmul of `dim` asks for (held by the
  // library while it runs): a term of the memory bound.
  static std::int64_t scratchpad_bytes(int dim, std::int64_t tile,
                                       JoinPrecision precision = JoinPrecision::kF32);

 private:
  dnnl::matmul& primitive(std::int64_t m, std::int64_t n);
  void tile(const BlockView& a, std::int64_t i0, std::int64_t m, const BlockView& b,
            std::int64_t j0, std::int64_t n, bool diagonal, std::vector<ScoredPair>& out,
            const Skip& skip);
  // The matmul of rows [i0, i0+m) of a with rows [j0, j0+n) of b into scratch_.
  void multiply(const BlockView& a, std::int64_t i0, std::int64_t m, const BlockView& b,
                std::int64_t j0, std::int64_t n);

  int dim_;
  float threshold_;
  std::int64_t tile_;
  JoinPrecision precision_;
  // bf16: the rows of the current a tile and b tile, and the band their norms give.
  std::vector<std::uint16_t> a16_, b16_;
  double norm_a_ = 0, norm_b_ = 0;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<std::pair<std::int64_t, std::int64_t>, dnnl::matmul> primitives_;
  std::vector<float> scratch_;
  double flops_ = 0;
  std::int64_t rechecked_ = 0;
};

}  // namespace pm::dedup
