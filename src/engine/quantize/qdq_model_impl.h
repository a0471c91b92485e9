// QdqModel's state, shared by its files (qdq_model.cc: targets and the QDQ layout;
// equalize.cc: per-channel rescaling before calibration). Private to the engine.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "onnx/tensor_proto.h"
#include "ops/half.h"
#include "pixelmill/qdq.h"

namespace pm::engine {

inline std::int64_t int_attr(const onnx::NodeProto& n, const char* name, std::int64_t fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}

// A float32 copy of a float32 or float16 tensor; empty for other types.
inline Tensor as_f32(const Tensor& t) {
  if (t.dtype() == DType::kF32) return t;
  if (t.dtype() != DType::kF16) return {};
  Tensor f(DType::kF32, t.shape());
  const auto* s = t.ptr<std::uint16_t>();
  float* d = f.ptr<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) d[i] = half_to_float(s[i]);
  return f;
}

inline onnx::TensorProto make_tensor(const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  tensor_to_proto(t, name, p);
  return p;
}

struct QdqModel::Impl {
  std::string path;
  std::string base_dir;
  onnx::ModelProto model;
  std::vector<QuantTarget> targets;
  std::vector<int> target_node;  // index into graph.node of each target
  std::vector<std::string> activations;
  std::set<std::string> names;  // every tensor and node name in use

  // The float32 value of an initializer, or of Cast(to=float) of one; empty if neither.
  Tensor constant_f32(const std::string& name) const {
    const auto& g = model.graph();
    for (const auto& init : g.initializer())
      if (init.name() == name) return as_f32(tensor_from_proto(init, base_dir, path + ": initializer " + name));
    for (const auto& n : g.node())
      if (n.op_type() == "Cast" && n.output_size() == 1 && n.output(0) == name &&
          int_attr(n, "to", 0) == onnx::TensorProto::FLOAT)
        for (const auto& init : g.initializer())
          if (init.name() == n.input(0)) return as_f32(tensor_from_proto(init, base_dir, path + ": initializer " + init.name()));
    return {};
  }

  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int i = 1; names.count(n); ++i) n = base + "_" + std::to_string(i);
    names.insert(n);
    return n;
  }
};


}  // namespace pm::engine
