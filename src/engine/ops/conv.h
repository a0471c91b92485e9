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
// The same for the depthwise stage of pm.FusedConvDw (attributes dw_activation, ...).
FusedActivation fused_dw_activation(const Node& n);
void apply_activation(const FusedActivation& a, float* y, std::int64_t count);
// The fused tail of a convolution's output y: y += residual (when given), then the node's
// activation. Shared by pm.FusedConv and pm.QConv.
void add_residual_and_activate(const Node& n, const Tensor* residual, Tensor& y);

// pm.FusedConvDw = dw_act(depthwise3x3(act(conv1x1(x, w) + b), wd) + bd), inputs
// (x, w, b, wd, bd): a 1x1 convolution whose output feeds only a 3x3 depthwise one
// (pad 1, stride dw_stride), run by oneDNN without writing the wide intermediate.
// The two stages as plain nodes, for inference and the reference kernel:
Node pointwise_stage(const Node& fused);  // Conv/pm.FusedConv over inputs 0..2
Node depthwise_stage(const Node& fused, std::int64_t channels);  // Conv over (y1, wd, bd)

}  // namespace pm::engine
