// QDQ convolutions to int8 (EngineOptions::precision == kInt8): the pattern every QDQ
// writer (ONNX Runtime's quantize_static, make_qdq.py) puts around a convolution,
//   Conv(DequantizeLinear(QuantizeLinear(x, sx, zx), sx, zx),
//        DequantizeLinear(Wq int8, sw [, 0]), [DequantizeLinear(Bq int32, sb) | B float32])
// becomes pm.QConv(x, Wq, sw, B float32) (ops/qconv.cc), whose oneDNN kernel quantises x
// and runs an int8 convolution. Runs at load, before fold_constants would fold the weights'
// DequantizeLinear into float32. Anything else (per-axis activation scales, non-zero weight
// zero points, other axes) is left as it is and runs as written.
#include <cstring>

#include "passes/passes.h"
#include "passes/qdq_match.h"

namespace pm::engine {

void fuse_qdq_conv(Graph& g, const PassContext&) {
  const auto producer = producers(g);
  for (Node& conv : g.nodes) {
    if (conv.op != "Conv" || conv.inputs.size() < 2) continue;
    std::string x;
    Quant q;
    const Node* dw = made_by(g, producer, conv.inputs[1], "DequantizeLinear");
    if (!dw || !fake_quantised_activation(g, producer, conv.inputs[0], x, q)) continue;
    const Tensor* w = g.constant(dw->inputs[0]);
    if (!w || w->dtype() != DType::kI8 || w->shape().size() != 4) continue;
    const std::int64_t channels = w->shape()[0];
    const std::vector<float> sw = channel_scales(g, *dw, channels, 4, 0);
    if (sw.empty()) continue;
    // The bias in float32, as DequantizeLinear would give it.
    Tensor bias;
    if (conv.has_input(2)) {
      bias = float_bias(g, producer, conv.inputs[2], channels);
      if (bias.empty()) continue;
    }
    // Named after the conv's output, unique in a valid graph; skipped should a value of
    // that name exist already.
    const std::string sw_name = conv.outputs[0] + ":int8_w_scale", b_name = conv.outputs[0] + ":int8_bias";
    if (g.is_constant(sw_name) || g.is_constant(b_name) || producer.count(sw_name) || producer.count(b_name))
      continue;
    Tensor scales(DType::kF32, {channels});
    std::memcpy(scales.data(), sw.data(), sw.size() * sizeof(float));
    g.constants[sw_name] = scales;
    std::vector<std::string> inputs{x, dw->inputs[0], sw_name};
    if (!bias.empty()) {
      g.constants[b_name] = bias;
      inputs.push_back(b_name);
    }
    conv.op = "pm.QConv";
    conv.inputs = inputs;
    conv.attrs["x_scale"] = float_attr(q.scale);
    conv.attrs["x_zero_point"] = int_attr(q.zero);
    conv.attrs["x_signed"] = int_attr(q.is_signed ? 1 : 0);
  }
}

}  // namespace pm::engine
