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

namespace pm::engine {

namespace {

struct Quant {
  float scale = 0.f;
  std::int64_t zero = 0;
  bool is_signed = false;
};

// The (scale, zero point) of a Q or DQ node with one scale for the whole tensor.
bool per_tensor(const Graph& g, const Node& n, Quant& q) {
  const Tensor* s = n.inputs.size() > 1 ? g.constant(n.inputs[1]) : nullptr;
  if (!s || s->dtype() != DType::kF32 || s->numel() != 1 || !(s->ptr<float>()[0] > 0.f)) return false;
  q.scale = s->ptr<float>()[0];
  if (!n.has_input(2)) return true;  // uint8, zero point 0
  const Tensor* z = g.constant(n.inputs[2]);
  if (!z || z->numel() != 1) return false;
  if (z->dtype() == DType::kU8) {
    q.zero = z->ptr<std::uint8_t>()[0];
  } else if (z->dtype() == DType::kI8) {
    q.zero = z->ptr<std::int8_t>()[0];
    q.is_signed = true;
  } else {
    return false;
  }
  return true;
}

bool all_zero(const Tensor& t) {
  const auto* b = static_cast<const unsigned char*>(t.data());
  for (std::size_t i = 0; i < t.nbytes(); ++i)
    if (b[i] != 0) return false;
  return true;
}

// One scale per output channel from a DequantizeLinear of `channels` rows (axis 0, or a
// single scale), with zero points absent or zero. Empty when the node does not fit.
std::vector<float> channel_scales(const Graph& g, const Node& dq, std::int64_t channels, std::size_t rank) {
  const Tensor* s = dq.inputs.size() > 1 ? g.constant(dq.inputs[1]) : nullptr;
  if (!s || s->dtype() != DType::kF32) return {};
  if (dq.has_input(2)) {
    const Tensor* z = g.constant(dq.inputs[2]);
    if (!z || !all_zero(*z)) return {};
  }
  if (s->numel() == 1) return std::vector<float>(static_cast<std::size_t>(channels), s->ptr<float>()[0]);
  std::int64_t axis = dq.attr_i("axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(rank);
  if (axis != 0 || s->numel() != channels) return {};
  return std::vector<float>(s->ptr<float>(), s->ptr<float>() + channels);
}

Attr float_attr(float v) {
  Attr a;
  a.kind = Attr::Kind::kFloat;
  a.f = v;
  return a;
}

Attr int_attr(std::int64_t v) {
  Attr a;
  a.kind = Attr::Kind::kInt;
  a.i = v;
  return a;
}

}  // namespace

void fuse_qdq_conv(Graph& g, const PassContext&) {
  const auto producer = producers(g);
  auto made_by = [&](const std::string& v, const char* op) -> const Node* {
    auto it = producer.find(v);
    if (it == producer.end() || g.nodes[it->second].op != op) return nullptr;
    return &g.nodes[it->second];
  };
  for (Node& conv : g.nodes) {
    if (conv.op != "Conv" || conv.inputs.size() < 2) continue;
    const Node* dx = made_by(conv.inputs[0], "DequantizeLinear");
    const Node* qx = dx ? made_by(dx->inputs[0], "QuantizeLinear") : nullptr;
    const Node* dw = made_by(conv.inputs[1], "DequantizeLinear");
    if (!qx || !dw) continue;
    Quant q, d;
    if (!per_tensor(g, *qx, q) || !per_tensor(g, *dx, d) || q.scale != d.scale || q.zero != d.zero ||
        q.is_signed != d.is_signed)
      continue;
    const Tensor* w = g.constant(dw->inputs[0]);
    if (!w || w->dtype() != DType::kI8 || w->shape().size() != 4) continue;
    const std::int64_t channels = w->shape()[0];
    const std::vector<float> sw = channel_scales(g, *dw, channels, 4);
    if (sw.empty()) continue;
    // The bias in float32, as DequantizeLinear would give it.
    Tensor bias;
    if (conv.has_input(2)) {
      if (const Tensor* b = g.constant(conv.inputs[2]); b && b->dtype() == DType::kF32 && b->numel() == channels) {
        bias = b->clone();
      } else if (const Node* db = made_by(conv.inputs[2], "DequantizeLinear")) {
        const Tensor* bq = g.constant(db->inputs[0]);
        const std::vector<float> sb = channel_scales(g, *db, channels, 1);
        if (!bq || bq->dtype() != DType::kI32 || bq->numel() != channels || sb.empty()) continue;
        bias = Tensor(DType::kF32, {channels});
        for (std::int64_t o = 0; o < channels; ++o)
          bias.ptr<float>()[o] = static_cast<float>(bq->ptr<std::int32_t>()[o]) * sb[static_cast<std::size_t>(o)];
      } else {
        continue;
      }
    }
    // Named after the conv's output, unique in a valid graph; skipped should a value of
    // that name exist already.
    const std::string sw_name = conv.outputs[0] + ":int8_w_scale", b_name = conv.outputs[0] + ":int8_bias";
    if (g.is_constant(sw_name) || g.is_constant(b_name) || producer.count(sw_name) || producer.count(b_name))
      continue;
    Tensor scales(DType::kF32, {channels});
    std::memcpy(scales.data(), sw.data(), sw.size() * sizeof(float));
    g.constants[sw_name] = scales;
    std::vector<std::string> inputs{qx->inputs[0], dw->inputs[0], sw_name};
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
