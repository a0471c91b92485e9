#include "exec/micro_batch.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include "passes/passes.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

// Ops whose output row i reads only input row i once every value in the graph is
// batch-major (dim 0 is the batch at batch 1 and at batch 2). Shape checks catch ops that
// move or reduce dim 0; these are the ones that keep its size.
const std::set<std::string>& row_local_ops() {
  static const std::set<std::string> ops{
      // element-wise, unary, binary and variadic (broadcasting keeps rows apart when no
      // operand has a batch of its own other than the row's)
      "Abs", "Add", "And", "Ceil", "Clip", "Cos", "Div", "Elu", "Equal", "Erf", "Exp", "Floor", "Gelu",
      "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity", "IsInf", "IsNaN", "LeakyRelu",
      "Less", "LessOrEqual", "Log", "Max", "Mean", "Min", "Mish", "Mod", "Mul", "Neg", "Not", "Or", "PRelu",
      "Pow", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Softplus", "Softsign", "Sqrt",
      "Sub", "Sum", "Tanh", "ThresholdedRelu", "Where", "Xor", "Cast", "Dropout",
      // per-image
      "Conv", "ConvTranspose", "pm.FusedConv", "pm.FusedConvDw", "pm.QConv", "pm.NormalizeToNCHW", "AveragePool", "MaxPool",
      "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "Resize",
      "Upsample", "Pad", "DepthToSpace", "SpaceToDepth", "Gemm", "MatMul", "pm.QGemm",
      // layout: with dim 0 the batch before and after, a row stays a row
      "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Tile",
      "Expand",
      // reductions: over dim 0 they change its size, which the shape check sees
      "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceSum",
      "ReduceSumSquare", "ArgMax", "ArgMin"};
  return ops;
}

std::int64_t resolve_axis(std::int64_t axis, std::size_t rank) {
  return axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
}

// The ops that keep dim 0's size but may mix rows, depending on an axis.
std::string mixes_rows(const Node& n, const std::map<std::string, ValueType>& types, const Graph& g) {
  const std::size_t rank = types.at(n.inputs[0]).shape.size();
  if (n.op == "Softmax" || n.op == "LogSoftmax") {
    const bool legacy = n.attr_i("pm_opset", 13) < 13;  // axis 0 then means the whole tensor
    if (resolve_axis(n.attr_i("axis", legacy ? 1 : -1), rank) == 0) return n.label() + " normalises over the batch";
    return "";
  }
  if (n.op == "LayerNormalization") {
    if (resolve_axis(n.attr_i("axis", -1), rank) == 0) return n.label() + " normalises over the batch";
    return "";
  }
  if (n.op == "Gather") {
    // Row i of the data picked by data-dependent indices, or rows picked by index.
    if (g.is_constant(n.inputs[0]) || types.at(n.inputs[0]).value) return "";
    if (resolve_axis(n.attr_i("axis", 0), rank) == 0) return n.label() + " gathers along the batch";
    return "";
  }
  if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") {
    // Element-wise with a constant scale: per tensor, or per channel on another axis.
    const Tensor* scale = n.inputs.size() > 1 ? g.constant(n.inputs[1]) : nullptr;
    if (!scale) return n.label() + " has a computed scale";
    if (scale->numel() > 1 && resolve_axis(n.attr_i("axis", 1), rank) == 0)
      return n.label() + " has one scale per row";
    return "";
  }
  if (!row_local_ops().count(n.op)) return n.label() + ": " + n.op + " is not known to keep rows apart";
  return "";
}

// Shape inference at batch `b`; false when the graph cannot take that batch.
bool infer_at(const Graph& model, const std::map<std::string, Dims>& shapes, std::int64_t b, Graph& g,
              std::map<std::string, ValueType>& types) {
  std::map<std::string, Dims> at = shapes;
  for (auto& [name, d] : at) d[0] = b;
  g = model;
  try {
    specialize_shapes(g, at, types);
  } catch (const Error&) {
    return false;
  }
  return true;
}

}  // namespace

RowProfile profile_rows(const Graph& model, const std::map<std::string, Dims>& shapes) {
  RowProfile p;
  for (const auto& in : model.inputs) {
    auto it = shapes.find(in.name);
    if (it == shapes.end() || it->second.empty() || in.shape.empty() || in.shape[0] >= 0) {
      p.why = "input '" + in.name + "' has no dynamic batch dimension";
      return p;
    }
  }
  Graph g1, g2;
  std::map<std::string, ValueType> t1, t2;
  if (!infer_at(model, shapes, 1, g1, t1) || !infer_at(model, shapes, 2, g2, t2)) {
    p.why = "shapes cannot be inferred at batch 1 and 2";
    return p;
  }
  for (const auto& [name, a] : t1) {
    if (a.value) continue;  // constant at batch 1: not a row value
    auto it = t2.find(name);
    if (it == t2.end() || it->second.value) {
      p.why = "value '" + name + "' is constant at one batch size only";
      return p;
    }
    const Dims& s1 = a.shape;
    const Dims& s2 = it->second.shape;
    if (s1.empty() || s2.size() != s1.size() || s1[0] != 1 || s2[0] != 2 ||
        !std::equal(s1.begin() + 1, s1.end(), s2.begin() + 1)) {
      p.why = "value '" + name + "' is " + dims_str(s1) + " at batch 1 and " + dims_str(s2) +
              " at batch 2: dim 0 is not the batch";
      return p;
    }
    const std::int64_t bytes = dims_product(s1) * static_cast<std::int64_t>(dtype_size(a.dtype));
    p.act_bytes_per_row += bytes;
    p.max_value_bytes_per_row = std::max(p.max_value_bytes_per_row, bytes);
  }
  for (const Node& n : g1.nodes) {
    const std::string why = mixes_rows(n, t1, g1);
    if (!why.empty()) {
      p.why = why;
      return p;
    }
  }
  p.macs_per_row = count_macs(g1, t1);
  p.row_local = true;
  return p;
}

BatchSplit choose_batch_split(const RowProfile& p, std::int64_t batch, const EngineOptions& opts,
                              std::int64_t cache_bytes, int threads) {
  threads = std::max(1, threads);
  BatchSplit s;
  if (opts.micro_batch < 0) {
    s.why = "micro-batching is off";
    return s;
  }
  if (batch < 2) {
    s.why = "batch of one row";
    return s;
  }
  if (!p.row_local) {
    s.why = "not row-local: " + p.why;
    return s;
  }
  std::int64_t rows = 0;
  if (opts.micro_batch > 0) {
    rows = opts.micro_batch;
    s.why = "micro-batch " + std::to_string(opts.micro_batch) + " asked for";
  } else {
    const double intensity = p.act_bytes_per_row > 0 ? double(p.macs_per_row) / double(p.act_bytes_per_row) : 1e9;
    if (intensity >= kComputeBoundMacsPerByte) {
      s.why = "compute-bound (" + std::to_string(static_cast<int>(intensity)) + " MACs per activation byte)";
      return s;
    }
    rows = std::max<std::int64_t>(1, cache_bytes / std::max<std::int64_t>(1, 2 * p.max_value_bytes_per_row));
    s.why = "memory-bound (" + std::to_string(intensity).substr(0, 4) + " MACs per activation byte; largest value " +
            std::to_string(p.max_value_bytes_per_row >> 10) + " KiB per row, cache " + std::to_string(cache_bytes >> 20) +
            " MiB)";
  }
  if (rows >= batch) {
    s.why += ": the whole batch fits";
    return s;
  }
  s.rows = rows;
  const std::int64_t chunks = (batch + rows - 1) / rows;
  s.workers = static_cast<int>(std::min<std::int64_t>(threads, chunks));
  return s;
}

std::int64_t last_level_cache_bytes() {
  // sysfs first: glibc's sysconf reads CPUID, which some hypervisors fill with the host's
  // figures (320 MiB on a VM whose sysfs says 32 MiB).
  std::int64_t best = 0;
  int best_level = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level(dir + "level"), type(dir + "type"), size(dir + "size");
    int lv = 0;
    std::string t, sz;
    if (!(level >> lv) || !(type >> t) || !(size >> sz) || t == "Instruction" || sz.empty()) continue;
    std::int64_t bytes = std::atoll(sz.c_str());
    if (sz.back() == 'K') bytes <<= 10;
    else if (sz.back() == 'M') bytes <<= 20;
    if (lv > best_level && bytes > 0) {
      best_level = lv;
      best = bytes;
    }
  }
  if (best > 0) return best;
  const long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return v > 0 ? v : std::int64_t{32} << 20;
}

}  // namespace pm::engine
