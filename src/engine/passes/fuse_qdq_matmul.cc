// QDQ matrix products to int8 (EngineOptions::precision == kInt8): the patterns QDQ
// writers (ONNX Runtime's quantize_static, make_qdq.py) put around a fully connected layer,
//   Gemm(DequantizeLinear(QuantizeLinear(x, sx, zx), sx, zx),
//        DequantizeLinear(Wq int8 [K, N] or [N, K] with transB, sw [, 0]),
//        [DequantizeLinear(Bq int32 [N], sb) | C float32 [N] or [1, N]])   (transA = 0)
//   MatMul(DequantizeLinear(QuantizeLinear(x, sx, zx), sx, zx),
//          DequantizeLinear(Wq int8 [K, N], sw [, 0]))
// with sw one scale per output column (Wq's axis 1, or 0 with transB) or one scale, become
// pm.QGemm(x, Wq, sw, bias float32) (ops/qgemm.cc), whose oneDNN kernel quantises x and
// runs an int8 matmul. Runs at load, before fold_constants would fold the weights'
// DequantizeLinear into float32. Anything else (transA, a C of other shapes, per-axis
// activation scales, non-zero weight zero points, scales along K, batched weights) is left
// as it is and runs as written.
#include <cstring>

#include "passes/passes.h"
#include "passes/qdq_match.h"

namespace pm::engine {

void fuse_qdq_matmul(Graph& g, const PassContext&) {
  const auto producer = producers(g);
  for (Node& mm : g.nodes) {
    const bool gemm = mm.op == "Gemm";
    if ((!gemm && mm.op != "MatMul") || mm.inputs.size() < 2 || mm.outputs.empty()) continue;
    if (gemm && mm.attr_i("transA", 0) != 0) continue;
    std::string x;
    Quant q;
    const Node* dw = made_by(g, producer, mm.inputs[1], "DequantizeLinear");
    if (!dw || !fake_quantised_activation(g, producer, mm.inputs[0], x, q)) continue;
    const Tensor* w = g.constant(dw->inputs[0]);
    if (!w || w->dtype() != DType::kI8 || w->shape().size() != 2) continue;
    const bool tb = gemm && mm.attr_i("transB", 0) != 0;
    const std::int64_t columns = tb ? w->shape()[0] : w->shape()[1];
    const std::vector<float> sw = channel_scales(g, *dw, columns, 2, tb ? 0 : 1);
    if (sw.empty()) continue;
    // Gemm's C as one float32 value per column (broadcast over the rows), as
    // DequantizeLinear would give it.
    Tensor bias;
    if (gemm && mm.has_input(2)) {
      if (const Tensor* c = g.constant(mm.inputs[2]);
          c && c->shape() != Dims{columns} && c->shape() != Dims{1, columns})
        continue;
      bias = float_bias(g, producer, mm.inputs[2], columns);
      if (bias.empty()) continue;
    }
    // Named after the node's output, unique in a valid graph; skipped should a value of
    // that name exist already.
    const std::string sw_name = mm.outputs[0] + ":int8_w_scale", b_name = mm.outputs[0] + ":int8_bias";
    if (g.is_constant(sw_name) || g.is_constant(b_name) || producer.count(sw_name) || producer.count(b_name))
      continue;
    Tensor scales(DType::kF32, {columns});
    std::memcpy(scales.data(), sw.data(), sw.size() * sizeof(float));
    g.constants[sw_name] = scales;
    std::vector<std::string> inputs{x, dw->inputs[0], sw_name};
    if (!bias.empty()) {
      g.constants[b_name] = bias.reshaped({columns});
      inputs.push_back(b_name);
    }
    mm.op = "pm.QGemm";
    mm.inputs = inputs;
    mm.attrs.erase("transA");
    if (!gemm) mm.attrs["matmul"] = int_attr(1);  // MatMul's shapes: x of any rank
    mm.attrs["x_scale"] = float_attr(q.scale);
    mm.attrs["x_zero_point"] = int_attr(q.zero);
    mm.attrs["x_signed"] = int_attr(q.is_signed ? 1 : 0);
  }
}

}  // namespace pm::engine
