// Small helpers shared by the op files: axis normalisation, broadcasting, strides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op_registry.h"
#include "pixelmill/error.h"

namespace pm::engine {

// Throws pm::Error prefixed with the node's label.
[[noreturn]] void op_fail(const Node& n, const std::string& msg);
#define PM_OP_CHECK(node, cond, msg) \
  do {                               \
    if (!(cond)) ::pm::engine::op_fail((node), (msg)); \
  } while (0)

std::int64_t norm_axis(const Node& n, std::int64_t axis, std::size_t rank);
Dims broadcast_shapes(const Node& n, const Dims& a, const Dims& b);
// Row-major strides of `shape`, aligned right to `rank` dims, 0 where the dim broadcasts.
std::vector<std::int64_t> broadcast_strides(const Dims& shape, const Dims& out);
std::vector<std::int64_t> strides_of(const Dims& shape);

// Reads an integer tensor (int64 or int32) as int64 values.
std::vector<std::int64_t> to_int64s(const Tensor& t);
// Requires input i to be known at planning time (constant).
const Tensor& need_value(const Node& n, const std::vector<ValueType>& in, std::size_t i);

inline ValueType vt(DType d, Dims s) { return ValueType{d, std::move(s), nullptr}; }

}  // namespace pm::engine
