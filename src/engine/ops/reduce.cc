// Reductions: ReduceMean/Sum/Max/Min/L2/L1/SumSquare, GlobalAveragePool, GlobalMaxPool.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/op_util.h"

namespace pm::engine {

namespace {

// Axes from the attribute (opset < 18; ReduceSum from 13) or the optional second input.
std::vector<bool> reduced_axes(const Node& n, const Dims& x, const Tensor* axes_input) {
  std::vector<std::int64_t> axes = n.attr_ints("axes");
  if (axes_input) axes = to_int64s(*axes_input);
  std::vector<bool> red(x.size(), false);
  if (axes.empty()) {
    if (n.attr_i("noop_with_empty_axes", 0) == 0) std::fill(red.begin(), red.end(), true);
    return red;
  }
  for (auto a : axes) red[static_cast<std::size_t>(norm_axis(n, a, x.size()))] = true;
  return red;
}

Dims reduced_shape(const Dims& x, const std::vector<bool>& red, bool keep) {
  Dims out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!red[i]) out.push_back(x[i]);
    else if (keep) out.push_back(1);
  }
  return out;
}

const Tensor* axes_tensor_vt(const Node& n, const std::vector<ValueType>& in) {
  if (in.size() > 1 && n.has_input(1)) return &need_value(n, in, 1);
  return nullptr;
}

std::vector<ValueType> infer_reduce(const Node& n, const std::vector<ValueType>& in) {
  auto red = reduced_axes(n, in[0].shape, axes_tensor_vt(n, in));
  return {vt(in[0].dtype, reduced_shape(in[0].shape, red, n.attr_i("keepdims", 1) != 0))};
}

enum class Kind { kMean, kSum, kMax, kMin, kL2, kL1, kSumSquare, kLogSumExp };

template <Kind K>
void ref_reduce(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = *in[0];
  PM_OP_CHECK(n, x.dtype() == DType::kF32, "expects float32");
  const Dims& xs = x.shape();
  auto red = reduced_axes(n, xs, in.size() > 1 ? in[1] : nullptr);
  // Output strides aligned to the input's rank, 0 on reduced axes.
  Dims keep_shape = reduced_shape(xs, red, true);
  auto ostr = strides_of(keep_shape);
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (red[i]) ostr[i] = 0;
  const std::int64_t on = dims_product(keep_shape);
  std::vector<double> acc(static_cast<std::size_t>(on),
                          K == Kind::kMax ? -std::numeric_limits<double>::infinity()
                          : K == Kind::kMin ? std::numeric_limits<double>::infinity() : 0.0);
  std::vector<double> maxv;
  const float* px = x.ptr<float>();
  const std::int64_t count = x.numel();
  if (K == Kind::kLogSumExp) {  // stabilise with the max per output
    maxv.assign(acc.size(), -std::numeric_limits<double>::infinity());
  }
  auto walk = [&](auto f) {
    std::vector<std::int64_t> idx(xs.size(), 0);
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t o = 0;
      for (std::size_t d = 0; d < xs.size(); ++d) o += idx[d] * ostr[d];
      f(o, double(px[i]));
      for (std::size_t d = xs.size(); d-- > 0;) {
        if (++idx[d] < xs[d]) break;
        idx[d] = 0;
      }
    }
  };
  auto accumulate = [&](std::int64_t o, double v) {
    switch (K) {
      case Kind::kMean: case Kind::kSum: acc[o] += v; break;
      case Kind::kMax: acc[o] = std::max(acc[o], v); break;
      case Kind::kMin: acc[o] = std::min(acc[o], v); break;
      case Kind::kL2: case Kind::kSumSquare: acc[o] += v * v; break;
      case Kind::kL1: acc[o] += std::fabs(v); break;
      case Kind::kLogSumExp: acc[o] += std::exp(v - maxv[o]); break;
    }
  };
  // Reduced axes forming one contiguous run: plain outer x reduced x inner loops.
  std::size_t first = 0, last = 0;
  bool run = false, contiguous = true;
  for (std::size_t d = 0; d < xs.size(); ++d) {
    if (!red[d]) continue;
    if (!run) first = d;
    else if (d != last + 1) contiguous = false;
    last = d;
    run = true;
  }
  const bool fast = run && contiguous && K != Kind::kLogSumExp;
  std::int64_t outer = 1, len = 1, inner = 1;
  if (fast)
    for (std::size_t d = 0; d < xs.size(); ++d) (d < first ? outer : d <= last ? len : inner) *= xs[d];
  if (fast && inner == 1) {
    // Trailing axes (global pooling over H x W): one running value per output, in a
    // register rather than through acc[].
    for (std::int64_t o = 0; o < outer; ++o) {
      const float* row = px + o * len;
      double a = acc[static_cast<std::size_t>(o)];
      for (std::int64_t r = 0; r < len; ++r) {
        const double v = row[r];
        switch (K) {
          case Kind::kMean: case Kind::kSum: a += v; break;
          case Kind::kMax: a = std::max(a, v); break;
          case Kind::kMin: a = std::min(a, v); break;
          case Kind::kL2: case Kind::kSumSquare: a += v * v; break;
          case Kind::kL1: a += std::fabs(v); break;
          case Kind::kLogSumExp: break;
        }
      }
      acc[static_cast<std::size_t>(o)] = a;
    }
  } else if (fast) {
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t r = 0; r < len; ++r) {
        const float* row = px + (o * len + r) * inner;
        for (std::int64_t i = 0; i < inner; ++i) accumulate(o * inner + i, double(row[i]));
      }
  } else {
    if (K == Kind::kLogSumExp) walk([&](std::int64_t o, double v) { maxv[o] = std::max(maxv[o], v); });
    walk(accumulate);
  }
  const double n_red = on ? double(count) / double(on) : 1.0;
  float* py = out[0].ptr<float>();
  for (std::int64_t o = 0; o < on; ++o) {
    double v = acc[o];
    if (K == Kind::kMean) v /= n_red;
    if (K == Kind::kL2) v = std::sqrt(v);
    if (K == Kind::kLogSumExp) v = std::log(v) + maxv[o];
    py[o] = float(v);
  }
}

std::vector<ValueType> infer_global(const Node& n, const std::vector<ValueType>& in) {
  Dims s = in[0].shape;
  PM_OP_CHECK(n, s.size() >= 3, "expects N x C x spatial input");
  for (std::size_t i = 2; i < s.size(); ++i) s[i] = 1;
  return {vt(in[0].dtype, s)};
}

template <bool Max>
void ref_global(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& s = in[0]->shape();
  const std::int64_t planes = s[0] * s[1];
  const std::int64_t size = in[0]->numel() / std::max<std::int64_t>(planes, 1);
  const float* px = in[0]->ptr<float>();
  float* py = out[0].ptr<float>();
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* q = px + p * size;
    double acc = Max ? -std::numeric_limits<double>::infinity() : 0.0;
    for (std::int64_t i = 0; i < size; ++i) acc = Max ? std::max(acc, double(q[i])) : acc + q[i];
    py[p] = float(Max ? acc : acc / double(size));
  }
}

}  // namespace

void register_reduce_ops(OpTable& t) {
  t.add({"ReduceMean", infer_reduce, ref_reduce<Kind::kMean>});
  t.add({"ReduceSum", infer_reduce, ref_reduce<Kind::kSum>});
  t.add({"ReduceMax", infer_reduce, ref_reduce<Kind::kMax>});
  t.add({"ReduceMin", infer_reduce, ref_reduce<Kind::kMin>});
  t.add({"ReduceL2", infer_reduce, ref_reduce<Kind::kL2>});
  t.add({"ReduceL1", infer_reduce, ref_reduce<Kind::kL1>});
  t.add({"ReduceSumSquare", infer_reduce, ref_reduce<Kind::kSumSquare>});
  t.add({"ReduceLogSumExp", infer_reduce, ref_reduce<Kind::kLogSumExp>});
  t.add({"GlobalAveragePool", infer_global, ref_global<false>});
  t.add({"GlobalMaxPool", infer_global, ref_global<true>});
}

}  // namespace pm::engine
