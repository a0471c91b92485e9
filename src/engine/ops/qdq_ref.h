// The reference arithmetic shared by the int8 ops that the QDQ load passes make (pm.QConv,
// pm.QGemm): the activation quantised and dequantised as QuantizeLinear then
// DequantizeLinear compute it, and the int8 weights dequantised, both in float32 as the QDQ
// graph computes them, so that the ops' reference kernels give the graph's value exactly.
#pragma once

#include <cstddef>

#include "graph/graph.h"

namespace pm::engine {

// Checks the node's attributes x_scale (> 0), x_zero_point and x_signed (0: uint8,
// 1: int8; the zero point in that type's range); pm::Error naming the node otherwise.
void check_activation_quant(const Node& n);

// dq(q(x)) with the node's x_scale, x_zero_point and x_signed: round half to even,
// saturation, NaN to the zero point.
Tensor fake_quantise_activation(const Node& n, const Tensor& x);

// wq (int8) * scales[c] in float32, c the index of each element along `axis`.
Tensor dequantise_weights(const Tensor& wq, const float* scales, std::size_t axis);

}  // namespace pm::engine
