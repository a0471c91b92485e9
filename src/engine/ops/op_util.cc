#include "ops/op_util.h"

#include <cstring>

namespace pm::engine {

void op_fail(const Node& n, const std::string& msg) { throw Error(n.label() + ": " + msg); }

std::int64_t norm_axis(const Node& n, std::int64_t axis, std::size_t rank) {
  auto r = static_cast<std::int64_t>(rank);
  if (axis < 0) axis += r;
  PM_OP_CHECK(n, axis >= 0 && axis < r,
              "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  return axis;
}

Dims broadcast_shapes(const Node& n, const Dims& a, const Dims& b) {
  std::size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (std::size_t i = 0; i < r; ++i) {
    std::int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    std::int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    PM_OP_CHECK(n, da == db || da == 1 || db == 1,
                "shapes " + dims_str(a) + " and " + dims_str(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<std::int64_t> strides_of(const Dims& shape) {
  std::vector<std::int64_t> s(shape.size());
  std::int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

std::vector<std::int64_t> broadcast_strides(const Dims& shape, const Dims& out) {
  std::vector<std::int64_t> s(out.size(), 0);
  auto own = strides_of(shape);
  std::size_t off = out.size() - shape.size();
  for (std::size_t i = 0; i < shape.size(); ++i) s[off + i] = shape[i] == 1 ? 0 : own[i];
  return s;
}

std::vector<std::int64_t> to_int64s(const Tensor& t) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
  if (t.dtype() == DType::kI64) {
    if (!v.empty()) std::memcpy(v.data(), t.data(), v.size() * 8);
  } else if (t.dtype() == DType::kI32) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.ptr<std::int32_t>()[i];
  } else {
    throw Error("expected an integer tensor, got " + dtype_name(t.dtype()));
  }
  return v;
}

const Tensor& need_value(const Node& n, const std::vector<ValueType>& in, std::size_t i) {
  PM_OP_CHECK(n, i < in.size() && in[i].value != nullptr,
              "input " + std::to_string(i) + " must be known when the plan is built (constant or computed from shapes)");
  return *in[i].value;
}

}  // namespace pm::engine
