// pm.QConv: a convolution of a QDQ model run in int8, made by the fuse_qdq_conv pass from
//   Conv(DequantizeLinear(QuantizeLinear(x, sx, zx)), DequantizeLinear(Wq, sw), bias)
// Inputs (x float32, Wq int8 [O, I/g, kh, kw], sw float32 [O], bias float32 [O] optional,
// residual optional); attributes: the Conv's, plus x_scale (float), x_zero_point (int),
// x_signed (0: uint8, 1: int8), and the activation of pm.FusedConv when the plan passes fuse
// one. The value is exactly the QDQ chain's: y = act(conv(dq(q(x)), Wq * sw) + bias +
// residual), with q/dq as QuantizeLinear/DequantizeLinear define them. This reference kernel computes it
// that way in float; the oneDNN kernel (conv_int8_dnnl.cc) quantises x and multiplies in
// int8 with int32 sums; the two differ by float rounding in the sum, and where an activation
// sits at a rounding boundary, by one step: oneDNN quantises with x * (1/scale), the spec
// with x / scale.
// After the plan pass quantize_between_qconvs: x_quantized = 1 means x is already q(x)
// (uint8/int8 as x_signed says), and y_scale, y_zero_point, y_signed mean the node writes
// q(y) instead of y. The value of the chain is unchanged: the producer computes the q(y)
// its readers would have computed.
#include <algorithm>
#include <cstdint>

#include "ops/conv.h"
#include "ops/op_util.h"
#include "ops/qdq_ref.h"

namespace pm::engine {

namespace {

std::vector<ValueType> infer_qconv(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() >= 3 && n.has_input(1) && n.has_input(2), "needs X, W, W scales");
  PM_OP_CHECK(n, in[1].dtype == DType::kI8, "weights must be int8, not " + dtype_name(in[1].dtype));
  PM_OP_CHECK(n, in[1].shape.size() == 4 && in[1].shape[0] > 0, "weights must be [O > 0, I, kh, kw]");
  PM_OP_CHECK(n, in[2].dtype == DType::kF32 && dims_product(in[2].shape) == in[1].shape[0],
              "one float32 weight scale per output channel expected");
  if (n.has_input(3))
    PM_OP_CHECK(n, in[3].dtype == DType::kF32 && dims_product(in[3].shape) == in[1].shape[0],
                "the bias must be float32, one value per output channel");
  if (n.has_input(4)) PM_OP_CHECK(n, in[4].dtype == DType::kF32, "the residual must be float32");
  check_activation_quant(n);
  check_output_quant(n);
  const bool x_quantized = n.attr_i("x_quantized", 0) != 0;
  if (x_quantized) {
    const DType want = n.attr_i("x_signed", 0) ? DType::kI8 : DType::kU8;
    PM_OP_CHECK(n, in[0].dtype == want, "a quantised x must be " + dtype_name(want) + ", not " + dtype_name(in[0].dtype));
  }
  PM_OP_CHECK(n, !(n.has_attr("y_scale") && n.has_input(4)), "a quantised output cannot take a fused residual");
  std::vector<ValueType> as_conv{x_quantized ? vt(DType::kF32, in[0].shape) : in[0], vt(DType::kF32, in[1].shape)};
  Node conv = n;
  conv.op = "Conv";
  conv.inputs.resize(std::min<std::size_t>(conv.inputs.size(), 3));
  if (n.has_input(3)) {
    as_conv.push_back(in[3]);
  } else if (conv.inputs.size() > 2) {
    conv.inputs[2].clear();
  }
  auto out = find_op("Conv")->infer(conv, as_conv);
  if (n.has_input(4)) PM_OP_CHECK(n, in[4].shape == out[0].shape, "residual shape does not match the output");
  if (n.has_attr("y_scale")) out[0].dtype = n.attr_i("y_signed", 0) ? DType::kI8 : DType::kU8;
  return out;
}

void ref_QConv(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  // dq(q(x)) and the dequantised weights, as the QDQ graph computes them.
  const Tensor xd =
      n.attr_i("x_quantized", 0) ? dequantise_activation(n, *in[0]) : fake_quantise_activation(n, *in[0]);
  const Tensor wd = dequantise_weights(*in[1], in[2]->ptr<float>(), 0);
  Node conv = n;
  conv.op = "Conv";
  const bool y_quantised = n.has_attr("y_scale");
  Tensor y = y_quantised ? Tensor(DType::kF32, out[0].shape()) : out[0];
  conv_reference(conv, xd, wd, in.size() > 3 ? in[3] : nullptr, y);
  add_residual_and_activate(n, in.size() > 4 ? in[4] : nullptr, y);
  if (y_quantised) quantise_output(n, y, out[0]);
}

}  // namespace

void register_qconv_ops(OpTable& t) { t.add({"pm.QConv", infer_qconv, ref_QConv}); }

}  // namespace pm::engine
