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

// dq(q) for an activation already quantised (uint8/int8 as x_signed says) with the node's
// x_scale and x_zero_point: (q - zero point) * scale, as fake_quantise_activation's last step.
Tensor dequantise_activation(const Node& n, const Tensor& q);

// Checks y_scale (> 0), y_zero_point and y_signed when the node has y_scale: the node writes
// its output quantised (see passes/quantize_between_qconvs.cc).
void check_output_quant(const Node& n);

// q(y) with the node's y_scale, y_zero_point and y_signed, as QuantizeLinear computes it,
// into `q` (uint8 or int8, y's shape).
void quantise_output(const Node& n, const Tensor& y, Tensor& q);

// wq (int8) * scales[c] in float32, c the index of each element along `axis`.
Tensor dequantise_weights(const Tensor& wq, const float* scales, std::size_t axis);

}  // namespace pm::engine
