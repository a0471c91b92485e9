#include "ops/op_registry.h"

#include <algorithm>
#include <map>

#include "pixelmill/error.h"

namespace pm::engine {

void OpTable::add(OpDef def) { defs.push_back(def); }

namespace {
const std::map<std::string, OpDef>& table() {
  static const std::map<std::string, OpDef> t = [] {
    OpTable ops;
    register_elementwise_ops(ops);
    register_cast_ops(ops);
    register_conv_ops(ops);
    register_pool_ops(ops);
    register_reduce_ops(ops);
    register_shape_ops(ops);
    register_gemm_ops(ops);
    register_norm_ops(ops);
    register_fused_ops(ops);
    register_pad_resize_ops(ops);
    register_misc_ops(ops);
    register_conv_transpose_ops(ops);
    register_quantize_ops(ops);
    register_qconv_ops(ops);
    register_qgemm_ops(ops);
    // Ops whose reference kernels compute in float32 only (the rest move bytes, or
    // handle integer shape arithmetic too).
    static const char* kFloatOnly[] = {
        "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil",
        "Softsign", "Softplus", "HardSwish", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Gelu", "Clip", "Pow",
        "PRelu", "Conv", "pm.FusedConv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
        "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceL1",
        "ReduceSumSquare", "ReduceLogSumExp", "Gemm", "MatMul", "pm.QGemm", "BatchNormalization", "Softmax",
        "LogSoftmax", "LayerNormalization", "Resize", "Upsample", "ArgMax", "ArgMin", "Mean"};
    std::map<std::string, OpDef> m;
    for (auto d : ops.defs) {
      for (const char* f : kFloatOnly)
        if (std::string(f) == d.name) d.f32_only = true;
      m.emplace(d.name, d);
    }
    return m;
  }();
  return t;
}
}  // namespace

const OpDef* find_op(const std::string& op) {
  auto it = table().find(op);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<ValueType> infer_op(const Node& n, const std::vector<ValueType>& in) {
  const OpDef* def = find_op(n.op);
  if (!def) throw Error(n.label() + ": op not supported");
  // Every supported op reads its first input (Constant is folded at load); a node without
  // one is the file's error, not an index past the end (found by fuzzing: a bare Flatten).
  if (in.empty()) throw Error(n.label() + ": has no inputs");
  if (def->f32_only && !in.empty() && in[0].dtype != DType::kF32)
    throw Error(n.label() + ": input type " + dtype_name(in[0].dtype) + " is not supported (float32 only)");
  // Arithmetic: float32/64, int32/64 and (wrapping) 8-bit integers; comparisons: no 8-bit.
  const bool arith = n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div" || n.op == "Sum" ||
                     n.op == "Max" || n.op == "Min";
  const bool compare = n.op == "Equal" || n.op == "Less" || n.op == "Greater";
  for (const auto& t : in) {
    if (!arith && !compare) break;
    const bool small_int = t.dtype == DType::kU8 || t.dtype == DType::kI8;
    if (t.dtype == DType::kF16 || t.dtype == DType::kBF16 || t.dtype == DType::kBool || (compare && small_int))
      throw Error(n.label() + ": input type " + dtype_name(t.dtype) + " is not supported");
  }
  auto out = def->infer(n, in);
  // One check for every op's output shapes, however they were computed from the inputs'
  // dims and values (Tile repeats, Resize scales, ConstantOfShape, Range, Pad): negative
  // sizes and element counts that overflow are refused here, before any buffer is sized.
  for (const auto& t : out) {
    for (const auto d : t.shape)
      if (d < -1) throw Error(n.label() + ": output shape " + dims_str(t.shape) + " has a negative size");
    try {
      Dims concrete = t.shape;
      for (auto& d : concrete) d = d < 0 ? 1 : d;
      checked_mul(dims_product(concrete), static_cast<std::int64_t>(dtype_size(t.dtype)), "bytes");
    } catch (const Error& e) {
      throw Error(n.label() + ": output " + e.what());
    }
  }
  return out;
}

bool input_needs_value(const std::string& op, std::size_t i) {
  if (op == "Reshape" || op == "Expand" || op == "Squeeze" || op == "Unsqueeze" || op == "Split" || op == "Tile" ||
      op.rfind("Reduce", 0) == 0)
    return i == 1;
  if (op == "Slice") return i >= 1;
  if (op == "Pad") return i == 1 || i == 3;
  if (op == "Resize") return i == 2 || i == 3;
  if (op == "Upsample") return i == 1;
  if (op == "Range" || op == "ConstantOfShape") return true;
  return false;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& [name, def] : table())
    if (name.rfind("pm.", 0) != 0) names.push_back(name);
  return names;
}

}  // namespace pm::engine
