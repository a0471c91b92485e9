// Shape-only and data-movement ops: Shape, Expand, Reshape, Flatten, Squeeze, Unsqueeze,
// Transpose, Concat, Gather, Slice, ConstantOfShape. Their shape inputs must be known when
// the plan is built (constants, or computed from the concrete input shapes).
#include <algorithm>
#include <cstring>
#include <limits>

#include "ops/op_util.h"

namespace pm::engine {

namespace {

void copy_bytes(const Tensor& from, Tensor& to) {
  if (from.nbytes()) std::memcpy(to.data(), from.data(), from.nbytes());
}

// ---- Shape ----
std::vector<ValueType> infer_shape(const Node& n, const std::vector<ValueType>& in) {
  const auto r = static_cast<std::int64_t>(in[0].shape.size());
  std::int64_t start = n.attr_i("start", 0), end = n.attr_i("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<std::int64_t>(start, 0, r);
  end = std::clamp<std::int64_t>(end, start, r);
  return {vt(DType::kI64, {end - start})};
}
void ref_Shape(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const auto r = static_cast<std::int64_t>(in[0]->shape().size());
  std::int64_t start = n.attr_i("start", 0);
  if (start < 0) start += r;
  start = std::clamp<std::int64_t>(start, 0, r);
  for (std::int64_t i = 0; i < out[0].numel(); ++i) out[0].ptr<std::int64_t>()[i] = in[0]->shape()[start + i];
}

// ---- Expand (numpy broadcast to a shape) ----
std::vector<ValueType> infer_expand(const Node& n, const std::vector<ValueType>& in) {
  auto target = to_int64s(need_value(n, in, 1));
  return {vt(in[0].dtype, broadcast_shapes(n, in[0].shape, target))};
}
void ref_Expand(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& os = out[0].shape();
  auto st = broadcast_strides(in[0]->shape(), os);
  const std::size_t es = dtype_size(in[0]->dtype());
  const auto* src = static_cast<const std::byte*>(in[0]->data());
  auto* dst = static_cast<std::byte*>(out[0].data());
  std::vector<std::int64_t> idx(os.size(), 0);
  for (std::int64_t i = 0, e = out[0].numel(); i < e; ++i) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < os.size(); ++d) off += idx[d] * st[d];
    std::memcpy(dst + i * es, src + off * es, es);
    for (std::size_t d = os.size(); d-- > 0;) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- Reshape family (pure views) ----
void ref_View(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  copy_bytes(*in[0], out[0]);
}

std::vector<ValueType> infer_reshape(const Node& n, const std::vector<ValueType>& in) {
  auto spec = to_int64s(need_value(n, in, 1));
  const Dims& x = in[0].shape;
  const bool allowzero = n.attr_i("allowzero", 0) != 0;
  Dims out(spec.size());
  std::int64_t known = 1, infer_at = -1;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == -1) {
      PM_OP_CHECK(n, infer_at < 0, "more than one -1 in the shape");
      infer_at = static_cast<std::int64_t>(i);
      continue;
    }
    out[i] = (spec[i] == 0 && !allowzero) ? (i < x.size() ? x[i] : 0) : spec[i];
    PM_OP_CHECK(n, out[i] >= 0, "negative dimension in the shape");
    known = checked_mul(known, out[i], "reshape: the shape's element count");
  }
  if (infer_at >= 0) {
    PM_OP_CHECK(n, known > 0 && dims_product(x) % known == 0, "cannot infer -1 reshaping " + dims_str(x));
    out[static_cast<std::size_t>(infer_at)] = dims_product(x) / known;
  }
  PM_OP_CHECK(n, dims_product(out) == dims_product(x), "cannot reshape " + dims_str(x) + " to " + dims_str(out));
  return {vt(in[0].dtype, out)};
}

std::vector<ValueType> infer_flatten(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  std::int64_t axis = n.attr_i("axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(x.size());
  PM_OP_CHECK(n, axis >= 0 && axis <= static_cast<std::int64_t>(x.size()), "axis out of range");
  std::int64_t a = 1, b = 1;
  for (std::size_t i = 0; i < x.size(); ++i) (static_cast<std::int64_t>(i) < axis ? a : b) *= x[i];
  return {vt(in[0].dtype, {a, b})};
}

std::vector<std::int64_t> axes_of(const Node& n, const std::vector<ValueType>& in) {
  if (n.has_input(1)) return to_int64s(need_value(n, in, 1));
  return n.attr_ints("axes");
}

std::vector<ValueType> infer_squeeze(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  auto axes = axes_of(n, in);
  std::vector<bool> drop(x.size(), false);
  if (axes.empty()) {
    for (std::size_t i = 0; i < x.size(); ++i) drop[i] = x[i] == 1;
  } else {
    for (auto a : axes) {
      auto ax = static_cast<std::size_t>(norm_axis(n, a, x.size()));
      PM_OP_CHECK(n, x[ax] == 1, "cannot squeeze a dimension of size " + std::to_string(x[ax]));
      drop[ax] = true;
    }
  }
  Dims out;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!drop[i]) out.push_back(x[i]);
  return {vt(in[0].dtype, out)};
}

std::vector<ValueType> infer_unsqueeze(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  auto axes = axes_of(n, in);
  const std::size_t r = x.size() + axes.size();
  std::vector<bool> ins(r, false);
  for (auto a : axes) {
    auto ax = static_cast<std::size_t>(norm_axis(n, a, r));
    PM_OP_CHECK(n, !ins[ax], "repeated axis");
    ins[ax] = true;
  }
  Dims out;
  std::size_t j = 0;
  for (std::size_t i = 0; i < r; ++i) out.push_back(ins[i] ? 1 : x[j++]);
  return {vt(in[0].dtype, out)};
}

// ---- Transpose ----
std::vector<std::int64_t> perm_of(const Node& n, std::size_t rank) {
  auto p = n.attr_ints("perm");
  if (p.empty())
    for (std::size_t i = 0; i < rank; ++i) p.push_back(static_cast<std::int64_t>(rank - 1 - i));
  PM_OP_CHECK(n, p.size() == rank, "perm length does not match the rank");
  std::vector<bool> seen(rank, false);
  for (auto& a : p) {
    a = norm_axis(n, a, rank);
    PM_OP_CHECK(n, !seen[static_cast<std::size_t>(a)], "perm is not a permutation");
    seen[static_cast<std::size_t>(a)] = true;
  }
  return p;
}
std::vector<ValueType> infer_transpose(const Node& n, const std::vector<ValueType>& in) {
  auto p = perm_of(n, in[0].shape.size());
  Dims out;
  for (auto a : p) out.push_back(in[0].shape[static_cast<std::size_t>(a)]);
  return {vt(in[0].dtype, out)};
}
void ref_Transpose(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& xs = in[0]->shape();
  auto p = perm_of(n, xs.size());
  auto xst = strides_of(xs);
  const Dims& os = out[0].shape();
  std::vector<std::int64_t> st(os.size());
  for (std::size_t i = 0; i < os.size(); ++i) st[i] = xst[static_cast<std::size_t>(p[i])];
  const std::size_t es = dtype_size(in[0]->dtype());
  const auto* src = static_cast<const std::byte*>(in[0]->data());
  auto* dst = static_cast<std::byte*>(out[0].data());
  const std::int64_t count = out[0].numel();
  if (count == 0) return;
  std::vector<std::int64_t> idx(os.size(), 0);
  const std::size_t last = os.size() - 1;
  const std::int64_t inner = os.empty() ? 1 : os[last];
  for (std::int64_t i = 0; i < count; i += inner) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < last; ++d) off += idx[d] * st[d];
    if (es == 4) {  // the common float case, without per-element memcpy calls
      const auto* s4 = reinterpret_cast<const std::uint32_t*>(src) + off;
      auto* d4 = reinterpret_cast<std::uint32_t*>(dst) + i;
      for (std::int64_t k = 0; k < inner; ++k) d4[k] = s4[k * st[last]];
    } else {
      for (std::int64_t k = 0; k < inner; ++k) std::memcpy(dst + (i + k) * es, src + (off + k * st[last]) * es, es);
    }
    for (std::size_t d = last; d-- > 0;) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- Concat ----
std::vector<ValueType> infer_concat(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, !in.empty(), "needs inputs");
  Dims out = in[0].shape;
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), out.size()));
  for (std::size_t i = 1; i < in.size(); ++i) {
    PM_OP_CHECK(n, in[i].shape.size() == out.size() && in[i].dtype == in[0].dtype, "inputs differ in rank or dtype");
    for (std::size_t d = 0; d < out.size(); ++d)
      if (d != axis) PM_OP_CHECK(n, in[i].shape[d] == out[d], "inputs differ off the concat axis");
    out[axis] += in[i].shape[axis];
  }
  return {vt(in[0].dtype, out)};
}
void ref_Concat(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& os = out[0].shape();
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), os.size()));
  const std::size_t es = dtype_size(out[0].dtype());
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= os[d];
  for (std::size_t d = axis + 1; d < os.size(); ++d) inner *= os[d];
  auto* dst = static_cast<std::byte*>(out[0].data());
  std::int64_t offset = 0;
  for (const Tensor* t : in) {
    const std::int64_t chunk = t->shape()[axis] * inner;
    const auto* src = static_cast<const std::byte*>(t->data());
    for (std::int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + (o * os[axis] * inner + offset) * es, src + o * chunk * es, static_cast<std::size_t>(chunk) * es);
    offset += chunk;
  }
}

// ---- Gather ----
std::vector<ValueType> infer_gather(const Node& n, const std::vector<ValueType>& in) {
  const Dims& x = in[0].shape;
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), x.size()));
  Dims out(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(axis));
  for (auto d : in[1].shape) out.push_back(d);
  for (std::size_t d = axis + 1; d < x.size(); ++d) out.push_back(x[d]);
  return {vt(in[0].dtype, out)};
}
void ref_Gather(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Dims& x = in[0]->shape();
  auto axis = static_cast<std::size_t>(norm_axis(n, n.attr_i("axis", 0), x.size()));
  auto idx = to_int64s(*in[1]);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= x[d];
  for (std::size_t d = axis + 1; d < x.size(); ++d) inner *= x[d];
  const std::size_t es = dtype_size(in[0]->dtype());
  const auto* src = static_cast<const std::byte*>(in[0]->data());
  auto* dst = static_cast<std::byte*>(out[0].data());
  const std::int64_t nidx = static_cast<std::int64_t>(idx.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < nidx; ++j) {
      std::int64_t k = idx[static_cast<std::size_t>(j)];
      if (k < 0) k += x[axis];
      PM_OP_CHECK(n, k >= 0 && k < x[axis], "index " + std::to_string(k) + " out of range");
      std::memcpy(dst + ((o * nidx + j) * inner) * es, src + ((o * x[axis] + k) * inner) * es,
                  static_cast<std::size_t>(inner) * es);
    }
  }
}

// ---- Slice (opset >= 10: starts/ends/axes/steps as inputs) ----
struct SliceSpec {
  Dims out;
  std::vector<std::int64_t> start, step;
};
SliceSpec slice_spec(const Node& n, const Dims& x, const std::vector<std::int64_t>& starts,
                     const std::vector<std::int64_t>& ends, std::vector<std::int64_t> axes,
                     std::vector<std::int64_t> steps) {
  PM_OP_CHECK(n, starts.size() == ends.size(), "starts and ends differ in length");
  if (axes.empty())
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  // (fuzzing: shorter axes or steps were read past their end)
  PM_OP_CHECK(n, axes.size() == starts.size(), "axes and starts differ in length");
  PM_OP_CHECK(n, steps.size() == starts.size(), "steps and starts differ in length");
  SliceSpec s;
  s.out = x;
  s.start.assign(x.size(), 0);
  s.step.assign(x.size(), 1);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    auto a = static_cast<std::size_t>(norm_axis(n, axes[i], x.size()));
    PM_OP_CHECK(n, a < x.size(), "a scalar has no axis to slice");
    const std::int64_t dim = x[a], st = steps[i];
    PM_OP_CHECK(n, st != 0 && st != std::numeric_limits<std::int64_t>::min(), "step 0 or -2^63");
    std::int64_t b = starts[i], e = ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      b = std::clamp<std::int64_t>(b, 0, dim);
      e = std::clamp<std::int64_t>(e, 0, dim);
      s.out[a] = e > b ? 1 + (e - b - 1) / st : 0;  // no st - 1 to overflow
    } else {
      b = std::clamp<std::int64_t>(b, 0, dim - 1);
      e = std::clamp<std::int64_t>(e, -1, dim - 1);
      s.out[a] = b > e ? 1 + (b - e - 1) / (-st) : 0;
    }
    s.start[a] = b;
    s.step[a] = st;
  }
  return s;
}
SliceSpec slice_spec_vt(const Node& n, const std::vector<ValueType>& in) {
  if (!n.has_input(1))  // opset < 10: attributes
    return slice_spec(n, in[0].shape, n.attr_ints("starts"), n.attr_ints("ends"), n.attr_ints("axes"), {});
  return slice_spec(n, in[0].shape, to_int64s(need_value(n, in, 1)), to_int64s(need_value(n, in, 2)),
                    n.has_input(3) ? to_int64s(need_value(n, in, 3)) : std::vector<std::int64_t>{},
                    n.has_input(4) ? to_int64s(need_value(n, in, 4)) : std::vector<std::int64_t>{});
}
std::vector<ValueType> infer_slice(const Node& n, const std::vector<ValueType>& in) {
  return {vt(in[0].dtype, slice_spec_vt(n, in).out)};
}
void ref_Slice(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  std::vector<ValueType> vts;
  for (const Tensor* t : in) vts.push_back(t ? ValueType{t->dtype(), t->shape(), t} : ValueType{});
  SliceSpec s = slice_spec_vt(n, vts);
  const Dims& xs = in[0]->shape();
  auto xst = strides_of(xs);
  const std::size_t es = dtype_size(in[0]->dtype());
  const auto* src = static_cast<const std::byte*>(in[0]->data());
  auto* dst = static_cast<std::byte*>(out[0].data());
  // Row by row along the last axis: the offset of the outer indices once per row (the
  // per-element form took 8 ms of YOLOX's 90 on its input's step-2 slices).
  const std::size_t r = s.out.size();
  if (out[0].numel() == 0) return;
  const std::int64_t len = s.out[r - 1], step = s.step[r - 1] * xst[r - 1];
  std::vector<std::int64_t> idx(r, 0);
  for (std::int64_t i = 0, e = out[0].numel(); i < e; i += len) {
    std::int64_t off = s.start[r - 1] * xst[r - 1];
    for (std::size_t d = 0; d + 1 < r; ++d) off += (s.start[d] + idx[d] * s.step[d]) * xst[d];
    if (step == 1) {
      std::memcpy(dst + i * es, src + off * es, static_cast<std::size_t>(len) * es);
    } else {
      for (std::int64_t j = 0; j < len; ++j) std::memcpy(dst + (i + j) * es, src + (off + j * step) * es, es);
    }
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < s.out[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- ConstantOfShape ----
std::vector<ValueType> infer_cos(const Node& n, const std::vector<ValueType>& in) {
  auto shape = to_int64s(need_value(n, in, 0));
  auto it = n.attrs.find("value");
  DType d = (it != n.attrs.end() && !it->second.t.empty()) ? it->second.t.dtype() : DType::kF32;
  return {vt(d, shape)};
}
void ref_ConstantOfShape(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  auto it = n.attrs.find("value");
  if (it == n.attrs.end() || it->second.t.empty()) return;  // zero-filled already
  const std::size_t es = dtype_size(out[0].dtype());
  auto* dst = static_cast<std::byte*>(out[0].data());
  for (std::int64_t i = 0; i < out[0].numel(); ++i) std::memcpy(dst + i * es, it->second.t.data(), es);
}

}  // namespace

void register_shape_ops(OpTable& t) {
  t.add({"Shape", infer_shape, ref_Shape});
  t.add({"Expand", infer_expand, ref_Expand});
  t.add({"Reshape", infer_reshape, ref_View, true});
  t.add({"Flatten", infer_flatten, ref_View, true});
  t.add({"Squeeze", infer_squeeze, ref_View, true});
  t.add({"Unsqueeze", infer_unsqueeze, ref_View, true});
  t.add({"Transpose", infer_transpose, ref_Transpose});
  t.add({"Concat", infer_concat, ref_Concat});
  t.add({"Gather", infer_gather, ref_Gather});
  t.add({"Slice", infer_slice, ref_Slice});
  t.add({"ConstantOfShape", infer_cos, ref_ConstantOfShape});
}

}  // namespace pm::engine
