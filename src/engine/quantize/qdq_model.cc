// QdqModel: the ONNX surgery of post-training quantization (pixelmill/qdq.h).
#include "pixelmill/qdq.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "onnx/tensor_proto.h"
#include "quantize/qdq_model_impl.h"
#include "ops/half.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

constexpr int kMinQdqOpset = 13;  // DequantizeLinear's axis (per-channel weights)

float float_attr(const onnx::NodeProto& n, const char* name, float fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}

template <class T>
Tensor filled(DType dtype, Dims shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  std::copy(values.begin(), values.end(), t.ptr<T>());
  return t;
}

// One scale per slice along `axis` of a float32 weight: max |w| / 127 (symmetric int8).
struct QuantizedWeight {
  Tensor values;              // int8, the weight's shape
  std::vector<float> scales;  // one per slice along the axis
};

QuantizedWeight quantize_weight(const Tensor& w, int axis) {
  const Dims& d = w.shape();
  const std::int64_t channels = d[static_cast<std::size_t>(axis)];
  std::int64_t inner = 1;
  for (std::size_t i = static_cast<std::size_t>(axis) + 1; i < d.size(); ++i) inner *= d[i];
  const std::int64_t outer = w.numel() / (channels * inner);
  const float* src = w.ptr<float>();
  QuantizedWeight q{Tensor(DType::kI8, d), std::vector<float>(static_cast<std::size_t>(channels), 0.f)};
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t i = 0; i < inner; ++i) {
        float& s = q.scales[static_cast<std::size_t>(c)];
        s = std::max(s, std::fabs(src[(o * channels + c) * inner + i]));
      }
  for (float& s : q.scales) s = std::max(s, 1e-12f) / 127.f;
  auto* dst = q.values.ptr<std::int8_t>();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t i = 0; i < inner; ++i) {
        const std::int64_t k = (o * channels + c) * inner + i;
        const float v = std::nearbyint(src[k] / q.scales[static_cast<std::size_t>(c)]);
        dst[k] = static_cast<std::int8_t>(std::clamp(v, -127.f, 127.f));
      }
  return q;
}

}  // namespace

QdqModel::QdqModel(const std::string& onnx_path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = onnx_path;
  const auto slash = onnx_path.find_last_of('/');
  m.base_dir = slash == std::string::npos ? "." : onnx_path.substr(0, slash);
  // Loading it once checks everything the engine checks (ops, opset, shapes).
  Model::load(onnx_path);
  std::ifstream f(onnx_path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!m.model.ParseFromString(ss.str())) throw Error(onnx_path + ": not a valid ONNX model");
  int opset = 0;
  for (const auto& op : m.model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = static_cast<int>(op.version());
  if (opset < kMinQdqOpset)
    throw Error(onnx_path + ": opset " + std::to_string(opset) + "; quantizing needs opset " +
                std::to_string(kMinQdqOpset) + " or later (per-channel DequantizeLinear)");
  auto* g = m.model.mutable_graph();
  // External data becomes part of the file, so the QDQ model stands alone.
  for (auto& init : *g->mutable_initializer())
    if (init.data_location() == onnx::TensorProto::EXTERNAL)
      init = make_tensor(tensor_from_proto(init, m.base_dir, onnx_path + ": initializer " + init.name()), init.name());

  std::set<std::string> computed;  // tensors that nodes or graph inputs produce
  for (const auto& in : g->input()) computed.insert(in.name());
  for (const auto& init : g->initializer()) {
    computed.erase(init.name());
    m.names.insert(init.name());
  }
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& n = g->node(i);
    const std::string name = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    m.names.insert(name);
    for (const auto& o : n.output()) m.names.insert(o);
    if (n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear")
      throw Error(onnx_path + ": already quantized (node '" + name + "' is " + n.op_type() + ")");
    const bool produces_value = n.op_type() != "Constant" &&
                                !(n.op_type() == "Cast" && !computed.count(n.input(0)));
    if (produces_value)
      for (const auto& o : n.output()) computed.insert(o);
    if (n.op_type() != "Conv" && n.op_type() != "Gemm" && n.op_type() != "MatMul") continue;
    if (n.input_size() < 2 || !computed.count(n.input(0))) continue;
    const Tensor w = m.constant_f32(n.input(1));
    if (w.empty()) continue;
    if (n.op_type() == "Gemm" && int_attr(n, "transA", 0) != 0) continue;
    if (n.op_type() == "MatMul" && w.shape().size() != 2) continue;
    if (n.op_type() == "Conv" && w.shape().size() < 3) continue;
    QuantTarget t;
    t.node = name;
    t.op = n.op_type();
    t.activation = n.input(0);
    t.weights = w.numel();
    for (const auto& a : n.attribute())
      if (a.name() == "strides")
        for (const auto st : a.ints()) t.stride *= std::max<std::int64_t>(st, 1);
    t.depthwise = n.op_type() == "Conv" && w.shape()[1] == 1 && int_attr(n, "group", 1) == w.shape()[0] &&
                  w.shape()[0] > 1;
    m.targets.push_back(t);
    m.target_node.push_back(i);
    if (std::find(m.activations.begin(), m.activations.end(), t.activation) == m.activations.end())
      m.activations.push_back(t.activation);
  }
  if (m.targets.empty()) throw Error(onnx_path + ": no Conv, Gemm or MatMul with constant weights to quantize");
}

QdqModel::~QdqModel() = default;

const std::vector<QuantTarget>& QdqModel::targets() const { return impl_->targets; }
const std::vector<std::string>& QdqModel::activations() const { return impl_->activations; }

std::shared_ptr<const Model> QdqModel::observer(const EngineOptions& options) const {
  onnx::ModelProto copy = impl_->model;
  auto* g = copy.mutable_graph();
  for (const auto& a : impl_->activations) {
    auto* out = g->add_output();
    out->set_name(a);
    out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  return Model::load_bytes(copy.SerializeAsString(), impl_->base_dir, impl_->path + " (observing activations)",
                           options);
}

std::string QdqModel::qdq_bytes(const std::map<std::string, ActivationRange>& ranges,
                                const std::vector<bool>& quantize) const {
  const Impl& src = *impl_;
  if (quantize.size() != src.targets.size()) throw Error("qdq_bytes: one flag per target expected");
  Impl m;  // names and the copy being written
  m.names = src.names;
  onnx::ModelProto out = src.model;
  auto* g = out.mutable_graph();
  std::vector<onnx::NodeProto> nodes;
  std::map<std::string, std::pair<std::string, float>> done;  // activation -> (dequantized, scale)

  auto add_init = [&](const Tensor& t, const std::string& name) { *g->add_initializer() = make_tensor(t, name); };
  auto make_node = [&](const char* op, std::vector<std::string> in, const std::string& output, int axis) {
    onnx::NodeProto n;
    n.set_op_type(op);
    n.set_name(m.fresh(output + "_node"));
    for (auto& i : in) n.add_input(i);
    n.add_output(output);
    if (axis >= 0) {
      auto* a = n.add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(axis);
    }
    nodes.push_back(std::move(n));
  };

  std::map<int, std::size_t> target_at;
  for (std::size_t t = 0; t < src.targets.size(); ++t)
    if (quantize[t]) target_at[src.target_node[t]] = t;
  for (int i = 0; i < src.model.graph().node_size(); ++i) {
    onnx::NodeProto n = src.model.graph().node(i);
    const auto it = target_at.find(i);
    if (it == target_at.end()) {
      nodes.push_back(std::move(n));
      continue;
    }
    const QuantTarget& t = src.targets[it->second];
    // The activation: one Q/DQ pair, placed before its first quantized reader.
    auto& act = done[t.activation];
    if (act.first.empty()) {
      const auto r = ranges.find(t.activation);
      if (r == ranges.end()) throw Error("qdq_bytes: no range for activation " + t.activation);
      const float lo = std::min(r->second.lo, 0.f), hi = std::max(r->second.hi, 0.f);
      const float scale = hi > lo ? (hi - lo) / 255.f : 1.f;
      const auto zero = static_cast<std::uint8_t>(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
      const std::string s = m.fresh(t.activation + "_scale"), z = m.fresh(t.activation + "_zero_point");
      add_init(filled<float>(DType::kF32, {}, {scale}), s);
      add_init(filled<std::uint8_t>(DType::kU8, {}, {zero}), z);
      const std::string q = m.fresh(t.activation + "_quantized");
      act.first = m.fresh(t.activation + "_dequantized");
      act.second = scale;
      make_node("QuantizeLinear", {t.activation, s, z}, q, -1);
      make_node("DequantizeLinear", {q, s, z}, act.first, -1);
    }
    // The weight: int8, one scale per output channel.
    const Tensor w = src.constant_f32(n.input(1));
    const int axis = t.op == "Conv" || int_attr(n, "transB", 0) != 0 ? 0 : 1;
    QuantizedWeight qw = quantize_weight(w, axis);
    const auto channels = static_cast<std::int64_t>(qw.scales.size());
    const std::string wq = m.fresh(n.input(1) + "_quantized"), ws = m.fresh(n.input(1) + "_scale"),
                      wz = m.fresh(n.input(1) + "_zero_point"), wdq = m.fresh(n.input(1) + "_dequantized");
    add_init(qw.values, wq);
    add_init(filled<float>(DType::kF32, {channels}, qw.scales), ws);
    add_init(Tensor(DType::kI8, {channels}), wz);
    make_node("DequantizeLinear", {wq, ws, wz}, wdq, axis);
    // The bias: int32 at scale activation x weight, where it fits.
    std::string bias;
    if (n.input_size() > 2 && !n.input(2).empty() && (t.op != "Gemm" || float_attr(n, "beta", 1.f) == 1.f)) {
      const Tensor b = src.constant_f32(n.input(2));
      if (!b.empty() && b.shape().size() == 1 && b.shape()[0] == channels) {
        std::vector<float> bscale(static_cast<std::size_t>(channels));
        std::vector<std::int32_t> bq(bscale.size());
        bool fits = true;
        for (std::size_t c = 0; c < bscale.size(); ++c) {
          bscale[c] = act.second * qw.scales[c];
          const double v = std::nearbyint(static_cast<double>(b.ptr<float>()[c]) / bscale[c]);
          if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<std::int32_t>::max()) fits = false;
          else bq[c] = static_cast<std::int32_t>(v);
        }
        if (!fits) {
          // A float32 initializer, not the original input: a float16 bias behind a Cast is
          // no constant until folding, and the int8 pass reads constants.
          bias = m.fresh(n.input(2) + "_float");
          add_init(b, bias);
        } else {
          const std::string bqn = m.fresh(n.input(2) + "_quantized"), bs = m.fresh(n.input(2) + "_scale"),
                            bz = m.fresh(n.input(2) + "_zero_point");
          bias = m.fresh(n.input(2) + "_dequantized");
          add_init(filled<std::int32_t>(DType::kI32, {channels}, bq), bqn);
          add_init(filled<float>(DType::kF32, {channels}, bscale), bs);
          add_init(Tensor(DType::kI32, {channels}), bz);
          make_node("DequantizeLinear", {bqn, bs, bz}, bias, 0);
        }
      }
    }
    n.set_input(0, act.first);
    n.set_input(1, wdq);
    if (!bias.empty()) n.set_input(2, bias);
    nodes.push_back(std::move(n));
  }

  // Drop what nothing reads any more: the Casts of replaced fp16 weights, then the
  // initializers (and the graph inputs that old exporters list for them).
  std::set<std::string> used;
  for (const auto& o : g->output()) used.insert(o.name());
  for (const auto& n : nodes)
    for (const auto& i : n.input()) used.insert(i);
  std::vector<onnx::NodeProto> kept;
  for (auto& n : nodes) {
    const bool dead_cast = (n.op_type() == "Cast" || n.op_type() == "Constant") && n.output_size() == 1 &&
                           !used.count(n.output(0));
    if (!dead_cast) kept.push_back(std::move(n));
  }
  used.clear();
  for (const auto& o : g->output()) used.insert(o.name());
  for (const auto& n : kept)
    for (const auto& i : n.input()) used.insert(i);
  g->clear_node();
  for (auto& n : kept) *g->add_node() = std::move(n);
  google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
  std::set<std::string> dropped;
  for (auto& init : *g->mutable_initializer()) {
    if (used.count(init.name())) *inits.Add() = std::move(init);
    else dropped.insert(init.name());
  }
  g->mutable_initializer()->Swap(&inits);
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  for (auto& in : *g->mutable_input())
    if (!dropped.count(in.name())) *inputs.Add() = std::move(in);
  g->mutable_input()->Swap(&inputs);
  return out.SerializeAsString();
}

}  // namespace pm::engine
