#include "block_join.h"

#include <algorithm>

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

double exact_dot(const float* x, const float* y, int dim) {
  double s = 0;
  for (int k = 0; k < dim; ++k) s += static_cast<double>(x[k]) * static_cast<double>(y[k]);
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

BlockJoiner::BlockJoiner(int dim, float threshold, std::int64_t tile)
    : dim_(dim),
      threshold_(threshold),
      tile_(std::max<std::int64_t>(1, tile)),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_) {
  PM_CHECK(dim > 0, "embedding dimension must be positive");
  scratch_.resize(static_cast<std::size_t>(tile_ * tile_));
}

std::int64_t BlockJoiner::scratchpad_bytes(int dim, std::int64_t tile) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::desc src({tile, dim}, dt::f32, tag::ab);
  const dnnl::memory::desc wei({dim, tile}, dt::f32, tag::ba);
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
  const dnnl::memory::desc src({m, dim_}, dt::f32, tag::ab);
  // B^T without a copy: the weights are [dim, n] in column-major order, which is the
  // row-major [n, dim] block as stored.
  const dnnl::memory::desc wei({dim_, n}, dt::f32, tag::ba);
  const dnnl::memory::desc dst({m, n}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), engine_);
  return primitives_.emplace(std::make_pair(m, n), dnnl::matmul(pd)).first->second;
}

void BlockJoiner::tile(const BlockView& a, std::int64_t i0, std::int64_t m, const BlockView& b,
                       std::int64_t j0, std::int64_t n, bool diagonal,
                       std::vector<ScoredPair>& out) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc src_md({m, dim_}, dt::f32, tag::ab);
  const dnnl::memory::desc wei_md({dim_, n}, dt::f32, tag::ba);
  const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
  dnnl::memory src(src_md, engine_, const_cast<float*>(a.data + i0 * dim_));
  dnnl::memory wei(wei_md, engine_, const_cast<float*>(b.data + j0 * dim_));
  dnnl::memory dst(dst_md, engine_, scratch_.data());
  primitive(m, n).execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei},
                                    {DNNL_ARG_DST, dst}});
  stream_.wait();
  flops_ += 2.0 * static_cast<double>(m) * static_cast<double>(n) * dim_;

  const float low = threshold_ - kBorderBand;
  for (std::int64_t i = 0; i < m; ++i) {
    const float* row = scratch_.data() + i * n;
    // On a diagonal tile only j > i is a new pair (i == j is the row itself).
    for (std::int64_t j = diagonal ? i + 1 : 0; j < n; ++j) {
      if (row[j] < low) continue;
      float score = 0;
      if (keep(row[j], threshold_, a.data + (i0 + i) * dim_, b.data + (j0 + j) * dim_, dim_,
               score))
        out.push_back(ordered(a.ids[i0 + i], b.ids[j0 + j], score));
    }
  }
}

void BlockJoiner::join(const BlockView& a, const BlockView& b, bool same_block,
                       std::vector<ScoredPair>& out) {
  PM_CHECK(a.rows == 0 || a.dim == dim_, "block dimension differs from the joiner's");
  PM_CHECK(b.rows == 0 || b.dim == dim_, "block dimension differs from the joiner's");
  for (std::int64_t i0 = 0; i0 < a.rows; i0 += tile_) {
    const std::int64_t m = std::min(tile_, a.rows - i0);
    // Same block: only tiles on or above the diagonal; each pair once.
    for (std::int64_t j0 = same_block ? i0 : 0; j0 < b.rows; j0 += tile_) {
      const std::int64_t n = std::min(tile_, b.rows - j0);
      tile(a, i0, m, b, j0, n, same_block && i0 == j0, out);
    }
  }
}

}  // namespace pm::dedup
