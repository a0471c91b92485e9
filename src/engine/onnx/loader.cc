#include "onnx/loader.h"

#include <fstream>
#include <set>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/defs/schema.h>

#include "onnx/tensor_proto.h"
#include "ops/op_registry.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

constexpr int kMinOpset = 9;
constexpr int kMaxOpset = 18;
constexpr int kFullOpset = 11;  // every supported op is implemented as from this opset on

// Ops whose schema at opsets 9 and 10 says nothing that the engine's opset-11 kernels read
// differently (new optional attributes or inputs only, or a wider range such as negative
// axes). Files older than opset 11 may use these; ops whose meaning moved (Slice, Pad,
// Clip, Resize, TopK, Upsample, ...) are refused in them by name.
bool same_before_opset11(const std::string& op) {
  static const char* const kOps[] = {
      "Abs", "Add", "AveragePool", "BatchNormalization", "Concat", "Conv", "ConvTranspose", "Div",
      "Exp", "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "Identity",
      "LeakyRelu", "Log", "MatMul", "MaxPool", "Mul", "Neg", "PRelu", "Reciprocal", "Relu",
      "Reshape", "Shape", "Sigmoid", "Softmax", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose",
      "Unsqueeze"};
  for (const char* k : kOps)
    if (op == k) return true;
  return false;
}

Attr convert_attr(const onnx::AttributeProto& a, const std::string& base_dir, const std::string& what) {
  Attr r;
  switch (a.type()) {
    case onnx::AttributeProto::INT: r.kind = Attr::Kind::kInt; r.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: r.kind = Attr::Kind::kFloat; r.f = a.f(); break;
    case onnx::AttributeProto::STRING: r.kind = Attr::Kind::kString; r.s = a.s(); break;
    case onnx::AttributeProto::INTS:
      r.kind = Attr::Kind::kInts;
      r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      r.kind = Attr::Kind::kFloats;
      r.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::TENSOR:
      r.kind = Attr::Kind::kTensor;
      r.t = tensor_from_proto(a.t(), base_dir, what + " attribute " + a.name());
      break;
    default: r.kind = Attr::Kind::kOther; break;
  }
  return r;
}

ValueInfo value_info(const onnx::ValueInfoProto& v) {
  ValueInfo vi;
  vi.name = v.name();
  if (!v.type().has_tensor_type()) throw Error("value '" + v.name() + "' is not a tensor");
  const auto& tt = v.type().tensor_type();
  vi.dtype = dtype_from_onnx(tt.elem_type(), "value '" + v.name() + "'");
  if (tt.has_shape())
    for (const auto& d : tt.shape().dim()) vi.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return vi;
}

// A Constant node's value, whichever attribute form it uses.
Tensor constant_value(const Node& n) {
  auto it = n.attrs.begin();
  if (n.attrs.size() != 1) throw Error(n.label() + ": expects exactly one value attribute");
  const Attr& a = it->second;
  const std::string& key = it->first;
  if (key == "value") return a.t;
  if (key == "value_float") {
    Tensor t(DType::kF32, {});
    *t.ptr<float>() = a.f;
    return t;
  }
  if (key == "value_int") {
    Tensor t(DType::kI64, {});
    *t.ptr<std::int64_t>() = a.i;
    return t;
  }
  if (key == "value_floats") {
    Tensor t(DType::kF32, {static_cast<std::int64_t>(a.floats.size())});
    for (std::size_t i = 0; i < a.floats.size(); ++i) t.ptr<float>()[i] = a.floats[i];
    return t;
  }
  if (key == "value_ints") {
    Tensor t(DType::kI64, {static_cast<std::int64_t>(a.ints.size())});
    for (std::size_t i = 0; i < a.ints.size(); ++i) t.ptr<std::int64_t>()[i] = a.ints[i];
    return t;
  }
  throw Error(n.label() + ": value attribute '" + key + "' is not supported");
}

}  // namespace

Graph load_onnx_bytes(const std::string& bytes, const std::string& base_dir, const std::string& what) {
  onnx::ModelProto m;
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT32_MAX);
  if (!m.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    throw Error(what + ": not a valid ONNX model (protobuf parse failed)");
  if (!m.has_graph()) throw Error(what + ": ONNX model has no graph");
  Graph g;
  for (const auto& op : m.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = static_cast<int>(op.version());
  }
  if (g.opset < kMinOpset || g.opset > kMaxOpset)
    throw Error(what + ": ONNX opset " + std::to_string(g.opset) + " is outside the supported range " +
                std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset));
  const auto& graph = m.graph();
  if (graph.sparse_initializer_size() > 0) throw Error(what + ": sparse initializers are not supported");
  for (const auto& init : graph.initializer()) {
    if (init.name().empty()) throw Error(what + ": an initializer has no name");
    g.constants[init.name()] = tensor_from_proto(init, base_dir, what + ": initializer '" + init.name() + "'");
  }
  for (const auto& in : graph.input()) {
    if (g.constants.count(in.name())) continue;  // old exporters list initializers as inputs
    g.inputs.push_back(value_info(in));
  }
  int index = 0;
  for (const auto& np : graph.node()) {
    Node n;
    n.op = np.op_type();
    n.name = np.name().empty() ? n.op + "_" + std::to_string(index) : np.name();
    ++index;
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      throw Error(what + ": unsupported op '" + np.domain() + "." + n.op + "' (node '" + n.name + "')");
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute())
      n.attrs[a.name()] = convert_attr(a, base_dir, what + ": " + n.label());
    if (n.op == "Constant") {
      if (n.outputs.size() != 1) throw Error(what + ": " + n.label() + " must have one output");
      g.constants[n.outputs[0]] = constant_value(n);
      continue;
    }
    // pm.* ops are the engine's own, made by its passes from checked patterns; a file
    // that names one is refused like any unknown op.
    if (!find_op(n.op) || n.op.rfind("pm.", 0) == 0)
      throw Error(what + ": unsupported op '" + n.op + "' (node '" + n.name + "')");
    if (g.opset < kFullOpset && !same_before_opset11(n.op))
      throw Error(what + ": op '" + n.op + "' (node '" + n.name + "') is supported from opset " +
                  std::to_string(kFullOpset) + " on; this file is opset " + std::to_string(g.opset));
    // Every supported op reads its first input and writes its first output; the passes
    // rely on both (fuzzing found an Identity without an input).
    if (n.inputs.empty() || n.inputs[0].empty())
      throw Error(what + ": " + n.label() + " has no first input");
    if (n.outputs.empty() || n.outputs[0].empty())
      throw Error(what + ": " + n.label() + " has no first output");
    // The inputs the op's ONNX schema requires at this opset (Gemm's B, Where's three...):
    // the ops' inference and kernels index them (fuzzing found a Gemm with only A).
    if (const auto* schema = onnx::OpSchemaRegistry::Schema(n.op, g.opset, "")) {
      const auto need = static_cast<std::size_t>(schema->min_input());
      for (std::size_t i = 0; i < need; ++i)
        if (i >= n.inputs.size() || n.inputs[i].empty())
          throw Error(what + ": " + n.label() + " has " + std::to_string(n.inputs.size()) +
                      " input(s); " + n.op + " at opset " + std::to_string(g.opset) + " needs " +
                      std::to_string(need));
      if (n.inputs.size() > static_cast<std::size_t>(schema->max_input()))
        throw Error(what + ": " + n.label() + " has " + std::to_string(n.inputs.size()) +
                    " inputs; " + n.op + " takes at most " + std::to_string(schema->max_input()));
    }
    // Semantics that changed with the opset (Softmax's axis) need it at run time.
    Attr opset;
    opset.kind = Attr::Kind::kInt;
    opset.i = g.opset;
    n.attrs["pm_opset"] = opset;
    g.nodes.push_back(std::move(n));
  }
  for (const auto& out : graph.output()) g.outputs.push_back(value_info(out));
  if (g.outputs.empty()) throw Error(what + ": the graph has no outputs");
  validate(g, "load");
  return g;
}

Graph load_onnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open model file " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return load_onnx_bytes(ss.str(), dir, path);
}

}  // namespace pm::engine
