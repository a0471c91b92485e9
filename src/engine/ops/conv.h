// Reference convolution, shared by the Conv op, the fused conv and the tests.
#pragma once

#include <string>

#include "graph/graph.h"

namespace pm::engine {

// y = conv(x, w) + bias, with the node's attributes (group, strides, pads, dilations).
void conv_reference(const Node& n, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y);

// The activation a fusion pass attached to a node ("" = none): attributes
// activation / activation_alpha / activation_beta (Clip: alpha=min, beta=max).
struct FusedActivation {
  std::string kind;
  float alpha = 0.f, beta = 0.f;
};
FusedActivation fused_activation(const Node& n);
void apply_activation(const FusedActivation& a, float* y, std::int64_t count);

}  // namespace pm::engine
