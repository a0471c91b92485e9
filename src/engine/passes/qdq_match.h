// What the int8 load passes (fuse_qdq_conv, fuse_qdq_matmul) read off the QuantizeLinear /
// DequantizeLinear nodes of a QDQ model: constant scales and zero points, per tensor or
// per channel. A helper returns false / an empty result when a node does not fit, and the
// pass then leaves the op as written.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pm::engine {

struct Quant {
  float scale = 0.f;
  std::int64_t zero = 0;
  bool is_signed = false;  // int8 (true) or uint8 zero point
};

// The (scale, zero point) of a Q or DQ node with one positive float32 scale for the whole
// tensor and a constant uint8/int8 zero point (absent: uint8 0).
bool per_tensor(const Graph& g, const Node& n, Quant& q);

// The node of type `op` that produces `value` (producer: producers(g)), or null.
const Node* made_by(const Graph& g, const std::map<std::string, std::size_t>& producer, const std::string& value,
                    const char* op);

// x quantised and dequantised with one (scale, zero point): the activation input of a QDQ
// op, DequantizeLinear(QuantizeLinear(x, s, z), s, z). On a match sets `x` (the float
// input of the QuantizeLinear) and `q`.
bool fake_quantised_activation(const Graph& g, const std::map<std::string, std::size_t>& producer,
                               const std::string& value, std::string& x, Quant& q);

// One scale per channel of axis `axis` (of `channels` entries) of a DequantizeLinear's
// rank-`rank` input, or a single scale repeated; zero points absent or all zero. Empty
// when the node does not fit.
std::vector<float> channel_scales(const Graph& g, const Node& dq, std::int64_t channels, std::size_t rank,
                                  std::int64_t axis);

// A float32 bias of `channels` values, from a float32 constant of that many values or from
// DequantizeLinear(int32 constant, per-channel or single scale) computed as DQ does. Empty
// when `value` is neither.
Tensor float_bias(const Graph& g, const std::map<std::string, std::size_t>& producer, const std::string& value,
                  std::int64_t channels);

Attr float_attr(float v);
Attr int_attr(std::int64_t v);

}  // namespace pm::engine
