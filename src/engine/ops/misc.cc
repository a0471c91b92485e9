// Split, Tile, Where, Not, Range, ArgMax/ArgMin.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/op_util.h"

namespace pm::engine {

namespace {

// ---- Split ----
std::vector<std::int64_t> split_sizes(const Node& n, const Dims& x, const Tensor* split) {
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), x.size()));
  std::vector<std::int64_t> sizes = split ? to_int64s(*split) : n.attr_ints("split");
  const auto parts = static_cast<std::int64_t>(n.outputs.size());
  if (sizes.empty()) {
    const std::int64_t k = n.attr_i("num_outputs", parts);
    PM_OP_CHECK(n, k > 0, "no outputs");
    const std::int64_t chunk = (x[axis] + k - 1) / k;  // opset 18: last chunk may be smaller
    for (std::int64_t i = 0; i < k; ++i) sizes.push_back(std::max<std::int64_t>(0, std::min(chunk, x[axis] - i * chunk)));
  }
  std::int64_t total = 0;
  for (auto s : sizes) total += s;
  PM_OP_CHECK(n, total == x[axis], "split sizes do not add up to the axis length");
  PM_OP_CHECK(n, static_cast<std::int64_t>(sizes.size()) == parts, "number of splits != number of outputs");
  return sizes;
}

std::vector<ValueType> infer_split(const Node& n, const std::vector<ValueType>& in) {
  const Tensor* split = n.has_input(1) ? &need_value(n, in, 1) : nullptr;
  auto sizes = split_sizes(n, in[0].shape, split);
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), in[0].shape.size()));
  std::vector<ValueType> out;
  for (auto s : sizes) {
    Dims d = in[0].shape;
    d[axis] = s;
    out.push_back(vt(in[0].dtype, d));
  }
  return out;
}

void ref_Split(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& xs = in[0]->shape();
  auto sizes = split_sizes(n, xs, in.size() > 1 ? in[1] : nullptr);
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), xs.size()));
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= xs[d];
  for (std::size_t d = axis + 1; d < xs.size(); ++d) inner *= xs[d];
  const std::size_t es = dtype_size(in[0]->dtype());
  const auto* src = static_cast<const std::byte*>(in[0]->data());
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const std::int64_t chunk = sizes[k] * inner;
    if (!out[k].empty()) {
      auto* dst = static_cast<std::byte*>(out[k].data());
      for (std::int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * chunk * es, src + (o * xs[axis] * inner + offset) * es, static_cast<std::size_t>(chunk) * es);
    }
    offset += chunk;
  }
}

// ---- Tile ----
std::vector<ValueType> infer_tile(const Node& n, const std::vector<ValueType>& in) {
  auto reps = to_int64s(need_value(n, in, 1));
  PM_OP_CHECK(n, reps.size() == in[0].shape.size(), "repeats length != rank");
  Dims out = in[0].shape;
  for (std::size_t i = 0; i < out.size(); ++i) {
    PM_OP_CHECK(n, reps[i] >= 0, "negative repeat count");
    out[i] = checked_mul(out[i], reps[i], "tile: the output's dimensions");
  }
  return {vt(in[0].dtype, out)};
}
void ref_Tile(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& xs = in[0]->shape();
  const Dims& os = out[0].shape();
  auto xst = strides_of(xs);
  const std::size_t es = dtype_size(in[0]->dtype());
  const auto* src = static_cast<const std::byte*>(in[0]->data());
  auto* dst = static_cast<std::byte*>(out[0].data());
  std::vector<std::int64_t> idx(os.size(), 0);
  for (std::int64_t i = 0, e = out[0].numel(); i < e; ++i) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < os.size(); ++d) off += (idx[d] % xs[d]) * xst[d];
    std::memcpy(dst + i * es, src + off * es, es);
    for (std::size_t d = os.size(); d-- > 0;) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- Where (three-way broadcast) ----
std::vector<ValueType> infer_where(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() == 3 && in[1].dtype == in[2].dtype, "needs cond, X, Y of one dtype");
  Dims s = broadcast_shapes(n, broadcast_shapes(n, in[0].shape, in[1].shape), in[2].shape);
  return {vt(in[1].dtype, s)};
}
void ref_Where(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& os = out[0].shape();
  auto sc = broadcast_strides(in[0]->shape(), os), sx = broadcast_strides(in[1]->shape(), os),
       sy = broadcast_strides(in[2]->shape(), os);
  const std::size_t es = dtype_size(out[0].dtype());
  const auto* c = in[0]->ptr<std::uint8_t>();
  const auto* x = static_cast<const std::byte*>(in[1]->data());
  const auto* y = static_cast<const std::byte*>(in[2]->data());
  auto* dst = static_cast<std::byte*>(out[0].data());
  std::vector<std::int64_t> idx(os.size(), 0);
  for (std::int64_t i = 0, e = out[0].numel(); i < e; ++i) {
    std::int64_t oc = 0, ox = 0, oy = 0;
    for (std::size_t d = 0; d < os.size(); ++d) {
      oc += idx[d] * sc[d];
      ox += idx[d] * sx[d];
      oy += idx[d] * sy[d];
    }
    std::memcpy(dst + i * es, c[oc] ? x + ox * es : y + oy * es, es);
    for (std::size_t d = os.size(); d-- > 0;) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- Not ----
std::vector<ValueType> infer_not(const Node& n, const std::vector<ValueType>& in) {
  return {vt(DType::kBool, in[0].shape)};
}
void ref_Not(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  for (std::int64_t i = 0; i < in[0]->numel(); ++i) out[0].ptr<std::uint8_t>()[i] = !in[0]->ptr<std::uint8_t>()[i];
}

// ---- Range ----
double scalar(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kF32: return t.ptr<float>()[0];
    case DType::kF64: return t.ptr<double>()[0];
    case DType::kI32: return t.ptr<std::int32_t>()[0];
    case DType::kI64: return double(t.ptr<std::int64_t>()[0]);
    default: throw Error("Range: unsupported dtype " + dtype_name(t.dtype()));
  }
}
std::vector<ValueType> infer_range(const Node& n, const std::vector<ValueType>& in) {
  const double start = scalar(need_value(n, in, 0)), limit = scalar(need_value(n, in, 1)),
               delta = scalar(need_value(n, in, 2));
  PM_OP_CHECK(n, delta != 0, "delta is 0");
  // A length that is not finite or past 2^62 is no tensor (fuzzing: an infinite one).
  const double count = std::ceil((limit - start) / delta);
  PM_OP_CHECK(n, !(count >= 0x1p62), "more than 2^62 elements");
  PM_OP_CHECK(n, std::isfinite(count) || count < 0, "its length is not a number");
  const auto len = static_cast<std::int64_t>(std::max(0.0, count));
  return {vt(in[0].dtype, {len})};
}
void ref_Range(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const double start = scalar(*in[0]), delta = scalar(*in[2]);
  for (std::int64_t i = 0; i < out[0].numel(); ++i) {
    const double v = start + double(i) * delta;
    switch (out[0].dtype()) {
      case DType::kF32: out[0].ptr<float>()[i] = float(v); break;
      case DType::kF64: out[0].ptr<double>()[i] = v; break;
      case DType::kI32: out[0].ptr<std::int32_t>()[i] = static_cast<std::int32_t>(v); break;
      default: out[0].ptr<std::int64_t>()[i] = static_cast<std::int64_t>(v); break;
    }
  }
}

// ---- ArgMax / ArgMin ----
std::vector<ValueType> infer_arg(const Node& n, const std::vector<ValueType>& in) {
  Dims s = in[0].shape;
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), s.size()));
  if (n.attr_i("keepdims", 1)) s[axis] = 1;
  else s.erase(s.begin() + static_cast<std::ptrdiff_t>(axis));
  return {vt(DType::kI64, s)};
}
template <bool Max>
void ref_arg(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& s = in[0]->shape();
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), s.size()));
  const bool last = n.attr_i("select_last_index", 0) != 0;
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= s[d];
  for (std::size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
  const float* x = in[0]->ptr<float>();
  auto* y = out[0].ptr<std::int64_t>();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) {
      std::int64_t best = 0;
      float bv = x[o * s[axis] * inner + i];
      for (std::int64_t k = 1; k < s[axis]; ++k) {
        const float v = x[(o * s[axis] + k) * inner + i];
        const bool better = Max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
        if (better) {
          bv = v;
          best = k;
        }
      }
      y[o * inner + i] = best;
    }
}

}  // namespace

void register_misc_ops(OpTable& t) {
  t.add({"Split", infer_split, ref_Split});
  t.add({"Tile", infer_tile, ref_Tile});
  t.add({"Where", infer_where, ref_Where});
  t.add({"Not", infer_not, ref_Not});
  t.add({"Range", infer_range, ref_Range});
  t.add({"ArgMax", infer_arg, ref_arg<true>});
  t.add({"ArgMin", infer_arg, ref_arg<false>});
}

}  // namespace pm::engine
