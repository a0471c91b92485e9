#include "block_join.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "pixelmill/error.h"

namespace pm::dedup {

namespace {

// Keeps (or drops) a candidate whose float score is near the threshold by recomputing it
// exactly; far-away scores are decided by the float value alone.
inline bool keep(float score, float threshold, const float* x, const float* y, int dim,
                 float& final_score) {
  if (score < threshold - kBorderBand) return false;
  if (score >= threshold + kBorderBand) {
    final_score = score;
    return true;
  }
  const double exact = exact_dot(x, y, dim);
  if (exact < static_cast<double>(threshold)) return false;
  final_score = static_cast<float>(exact);
  return true;
}

inline ScoredPair ordered(std::int64_t x, std::int64_t y, float score) {
  return x < y ? ScoredPair{x, y, score} : ScoredPair{y, x, score};
}

}  // namespace

const char* join_precision_name(JoinPrecision p) {
  return p == JoinPrecision::kBF16 ? "bf16" : "fp32";
}

JoinPrecision parse_join_precision(const std::string& name) {
  if (name == "fp32") return JoinPrecision::kF32;
  if (name == "bf16") return JoinPrecision::kBF16;
  throw Error("join precision must be fp32 or bf16, not '" + name + "'");
}

bool cpu_has_bf16_matmul() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return (isa & static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16)) ==
         static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
}

double bf16_score_bound(int dim, double norm_a, double norm_b) {
  // |x~ - x| <= u|x| per element, so sum |x~y~ - xy| <= (2u + u^2) sum |x||y|
  // <= (2u + u^2) |x||y| (Cauchy-Schwarz); the products x~y~ are exact in fp32 (8 + 8
  // significant bits) and their fp32 sum in any order is off by at most
  // gamma_n sum |x~y~| <= gamma_n (1 + u)^2 |x||y|, gamma_n = n u32 / (1 - n u32).
  const double u = std::ldexp(1.0, -8);
  const double u32 = std::ldexp(1.0, -24);
  const double n = std::max(dim, 1);
  const double gamma = n * u32 / (1.0 - n * u32);
  return ((2 * u + u * u) + gamma * (1 + u) * (1 + u)) * norm_a * norm_b + 1e-6;
}

double to_bf16_rows(const float* x, std::int64_t rows, int dim, std::uint16_t* out) {
  float largest = 0;
#pragma omp parallel for schedule(static) reduction(max : largest) if (rows * dim >= (1 << 16))
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    std::uint16_t* o = out + r * dim;
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int k = 0; k < dim; ++k) {
      std::uint32_t u;
      std::memcpy(&u, xr + k, sizeof u);
      // Round to nearest even (join rows are finite: no NaN case).
      u += 0x7FFFu + ((u >> 16) & 1u);
      o[k] = static_cast<std::uint16_t>(u >> 16);
      ss += xr[k] * xr[k];
    }
    largest = std::max(largest, ss);
  }
  // A float sum of squares is off by at most gamma_dim of itself: bound it from above.
  const double slack = 1.0 + 2.0 * std::max(dim, 1) * std::ldexp(1.0, -24);
  return std::sqrt(static_cast<double>(largest) * slack);
}

namespace {
using Floats8 = float __attribute__((vector_size(32)));
using Doubles8 = double __attribute__((vector_size(64)));

// By reference, not by value: a vector argument's ABI depends on the clone's ISA.
inline void add_products(Doubles8& acc, const float* x, const float* y) {
  Floats8 a, b;
  std::memcpy(&a, x, sizeof a);
  std::memcpy(&b, y, sizeof b);
  // A product of two floats is exact in double (24 + 24 significant bits).
  acc += __builtin_convertvector(a, Doubles8) * __builtin_convertvector(b, Doubles8);
}
}  // namespace

// Elements in whole blocks of 32 go to lane k mod 32 of four 8-wide accumulators, a
// remaining block of 8 to the first accumulator, the lanes are summed in a fixed tree and
// the tail (dim mod 8) last: the same IEEE operations in the same order on
// every CPU and vector width (the clones differ only in how many lanes one instruction
// holds), so the result does not depend on where it runs.
__attribute__((target_clones("avx512f", "avx2", "default")))
double exact_dot(const float* x, const float* y, int dim) {
  Doubles8 acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {};
  int k = 0;
  for (; k + 32 <= dim; k += 32) {
    add_products(acc0, x + k, y + k);
    add_products(acc1, x + k + 8, y + k + 8);
    add_products(acc2, x + k + 16, y + k + 16);
    add_products(acc3, x + k + 24, y + k + 24);
  }
  for (; k + 8 <= dim; k += 8) add_products(acc0, x + k, y + k);
  const Doubles8 acc = (acc0 + acc1) + (acc2 + acc3);
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < dim; ++k) s += static_cast<double>(x[k]) * static_cast<double>(y[k]);
  return s;
}

void join_reference(const BlockView& a, const BlockView& b, bool same_block, float threshold,
                    std::vector<ScoredPair>& out) {
  for (std::int64_t i = 0; i < a.rows; ++i) {
    for (std::int64_t j = same_block ? i + 1 : 0; j < b.rows; ++j) {
      const double s = exact_dot(a.data + i * a.dim, b.data + j * b.dim, a.dim);
      if (s >= static_cast<double>(threshold))
        out.push_back(ordered(a.ids[i], b.ids[j], static_cast<float>(s)));
    }
  }
}

namespace {
dnnl::memory::data_type input_type(JoinPrecision p) {
  return p == JoinPrecision::kBF16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}
}  // namespace

BlockJoiner::BlockJoiner(int dim, float threshold, std::int64_t tile, JoinPrecision precision)
    : dim_(dim),
      threshold_(threshold),
      tile_(std::max<std::int64_t>(1, tile)),
      precision_(precision),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_) {
  PM_CHECK(dim > 0, "embedding dimension must be positive");
  scratch_.resize(static_cast<std::size_t>(tile_ * tile_));
  if (precision_ == JoinPrecision::kBF16) {
    a16_.resize(static_cast<std::size_t>(tile_ * dim_));
    b16_.resize(static_cast<std::size_t>(tile_ * dim_));
  }
}

std::int64_t BlockJoiner::scratchpad_bytes(int dim, std::int64_t tile, JoinPrecision precision) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::desc src({tile, dim}, input_type(precision), tag::ab);
  const dnnl::memory::desc wei({dim, tile}, input_type(precision), tag::ba);
  const dnnl::memory::desc dst({tile, tile}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), engine);
  return static_cast<std::int64_t>(pd.scratchpad_desc().get_size());
}

dnnl::matmul& BlockJoiner::primitive(std::int64_t m, std::int64_t n) {
  // Full tiles have one shape. Edge tiles (and the IVF join's lists, of every size) share
  // one primitive whose M and N are given at each call: creating a primitive per shape
  // cost more than the multiplications of small lists.
  if (m != tile_ || n != tile_) {
    m = DNNL_RUNTIME_DIM_VAL;
    n = DNNL_RUNTIME_DIM_VAL;
  }
  auto it = primitives_.find({m, n});
  if (it != primitives_.end()) return it->second;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc src({m, dim_}, input_type(precision_), tag::ab);
  // B^T without a copy: the weights are [dim, n] in column-major order, which is the
  // row-major [n, dim] block as stored.
  const dnnl::memory::desc wei({dim_, n}, input_type(precision_), tag::ba);
  const dnnl::memory::desc dst({m, n}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), engine_);
  return primitives_.emplace(std::make_pair(m, n), dnnl::matmul(pd)).first->second;
}

void BlockJoiner::multiply(const BlockView& a, std::int64_t i0, std::int64_t m,
                           const BlockView& b, std::int64_t j0, std::int64_t n) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dt in = input_type(precision_);
  const dnnl::memory::desc src_md({m, dim_}, in, tag::ab);
  const dnnl::memory::desc wei_md({dim_, n}, in, tag::ba);
  const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
  void* src_data = const_cast<float*>(a.data + i0 * dim_);
  void* wei_data = const_cast<float*>(b.data + j0 * dim_);
  if (precision_ == JoinPrecision::kBF16) {  // join() converted both tiles
    src_data = a16_.data();
    wei_data = b16_.data();
  }
  dnnl::memory src(src_md, engine_, src_data);
  dnnl::memory wei(wei_md, engine_, wei_data);
  dnnl::memory dst(dst_md, engine_, scratch_.data());
  primitive(m, n).execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei},
                                    {DNNL_ARG_DST, dst}});
  stream_.wait();
  flops_ += 2.0 * static_cast<double>(m) * static_cast<double>(n) * dim_;
}

void BlockJoiner::tile(const BlockView& a, std::int64_t i0, std::int64_t m, const BlockView& b,
                       std::int64_t j0, std::int64_t n, bool diagonal,
                       std::vector<ScoredPair>& out, const Skip& skip) {
  multiply(a, i0, m, b, j0, n);
  const bool bf16 = precision_ == JoinPrecision::kBF16;
  // fp32: scores in the border band are re-decided exactly, the others kept as they are.
  // bf16: every score that the bound cannot rule out is recomputed exactly.
  // (The bound is rounded down to a float below it, so no candidate is lost to rounding.)
  const float low =
      bf16 ? std::nextafter(static_cast<float>(threshold_ - bf16_score_bound(dim_, norm_a_, norm_b_)),
                            -INFINITY)
           : threshold_ - kBorderBand;
  for (std::int64_t i = 0; i < m; ++i) {
    const float* row = scratch_.data() + i * n;
    // On a diagonal tile only j > i is a new pair (i == j is the row itself).
    for (std::int64_t j = diagonal ? i + 1 : 0; j < n; ++j) {
      if (row[j] < low) continue;
      if (skip && skip(i0 + i, j0 + j)) continue;
      const float* x = a.data + (i0 + i) * dim_;
      const float* y = b.data + (j0 + j) * dim_;
      float score = 0;
      if (bf16) {
        ++rechecked_;
        const double exact = exact_dot(x, y, dim_);
        if (exact < static_cast<double>(threshold_)) continue;
        score = static_cast<float>(exact);
      } else {
        if (row[j] < threshold_ + kBorderBand) ++rechecked_;
        if (!keep(row[j], threshold_, x, y, dim_, score)) continue;
      }
      out.push_back(ordered(a.ids[i0 + i], b.ids[j0 + j], score));
    }
  }
}

void BlockJoiner::join(const BlockView& a, const BlockView& b, bool same_block,
                       std::vector<ScoredPair>& out, const Skip& skip) {
  PM_CHECK(a.rows == 0 || a.dim == dim_, "block dimension differs from the joiner's");
  PM_CHECK(b.rows == 0 || b.dim == dim_, "block dimension differs from the joiner's");
  const bool bf16 = precision_ == JoinPrecision::kBF16;
  for (std::int64_t i0 = 0; i0 < a.rows; i0 += tile_) {
    const std::int64_t m = std::min(tile_, a.rows - i0);
    if (bf16) norm_a_ = to_bf16_rows(a.data + i0 * dim_, m, dim_, a16_.data());
    // Same block: only tiles on or above the diagonal; each pair once.
    for (std::int64_t j0 = same_block ? i0 : 0; j0 < b.rows; j0 += tile_) {
      const std::int64_t n = std::min(tile_, b.rows - j0);
      if (bf16) norm_b_ = to_bf16_rows(b.data + j0 * dim_, n, dim_, b16_.data());
      tile(a, i0, m, b, j0, n, same_block && i0 == j0, out, skip);
    }
  }
}

}  // namespace pm::dedup
