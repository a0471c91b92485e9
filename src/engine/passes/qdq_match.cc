#include "passes/qdq_match.h"

namespace pm::engine {

namespace {

bool all_zero(const Tensor& t) {
  const auto* b = static_cast<const unsigned char*>(t.data());
  for (std::size_t i = 0; i < t.nbytes(); ++i)
    if (b[i] != 0) return false;
  return true;
}

}  // namespace

const Node* made_by(const Graph& g, const std::map<std::string, std::size_t>& producer, const std::string& v,
                    const char* op) {
  auto it = producer.find(v);
  if (it == producer.end() || g.nodes[it->second].op != op) return nullptr;
  return &g.nodes[it->second];
}

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

bool fake_quantised_activation(const Graph& g, const std::map<std::string, std::size_t>& producer,
                               const std::string& value, std::string& x, Quant& q) {
  const Node* dx = made_by(g, producer, value, "DequantizeLinear");
  const Node* qx = dx ? made_by(g, producer, dx->inputs[0], "QuantizeLinear") : nullptr;
  if (!qx) return false;
  Quant d;
  if (!per_tensor(g, *qx, q) || !per_tensor(g, *dx, d) || q.scale != d.scale || q.zero != d.zero ||
      q.is_signed != d.is_signed)
    return false;
  x = qx->inputs[0];
  return true;
}

std::vector<float> channel_scales(const Graph& g, const Node& dq, std::int64_t channels, std::size_t rank,
                                  std::int64_t axis) {
  const Tensor* s = dq.inputs.size() > 1 ? g.constant(dq.inputs[1]) : nullptr;
  if (!s || s->dtype() != DType::kF32) return {};
  if (dq.has_input(2)) {
    const Tensor* z = g.constant(dq.inputs[2]);
    if (!z || !all_zero(*z)) return {};
  }
  if (s->numel() == 1) return std::vector<float>(static_cast<std::size_t>(channels), s->ptr<float>()[0]);
  std::int64_t dq_axis = dq.attr_i("axis", 1);
  if (dq_axis < 0) dq_axis += static_cast<std::int64_t>(rank);
  if (dq_axis != axis || s->numel() != channels) return {};
  return std::vector<float>(s->ptr<float>(), s->ptr<float>() + channels);
}

Tensor float_bias(const Graph& g, const std::map<std::string, std::size_t>& producer, const std::string& value,
                  std::int64_t channels) {
  if (const Tensor* b = g.constant(value); b && b->dtype() == DType::kF32 && b->numel() == channels)
    return b->clone();
  const Node* db = made_by(g, producer, value, "DequantizeLinear");
  if (!db) return {};
  const Tensor* bq = g.constant(db->inputs[0]);
  const std::vector<float> sb = channel_scales(g, *db, channels, 1, 0);
  if (!bq || bq->dtype() != DType::kI32 || bq->numel() != channels || bq->shape().size() != 1 || sb.empty())
    return {};
  Tensor bias(DType::kF32, {channels});
  for (std::int64_t o = 0; o < channels; ++o)
    bias.ptr<float>()[o] = static_cast<float>(bq->ptr<std::int32_t>()[o]) * sb[static_cast<std::size_t>(o)];
  return bias;
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

}  // namespace pm::engine
