// Builds small ONNX models in memory for the conformance tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "pixelmill/tensor.h"

namespace pm::engine::test {

class GraphBuilder {
 public:
  explicit GraphBuilder(int opset = 17);
  // A float32 graph input with a dynamic batch dimension when `dynamic_batch`.
  void input(const std::string& name, const Dims& shape, bool dynamic_batch = false,
             int elem_type = onnx::TensorProto::FLOAT);
  void output(const std::string& name);
  // A float32 initializer filled from a fixed seed in [-scale, scale).
  void weight(const std::string& name, const Dims& shape, unsigned seed, float scale = 0.5f, float offset = 0.f);
  void constant(const std::string& name, const Tensor& t);
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out);
  static void ints(onnx::NodeProto& n, const std::string& key, std::vector<std::int64_t> v);
  static void i(onnx::NodeProto& n, const std::string& key, std::int64_t v);
  static void f(onnx::NodeProto& n, const std::string& key, float v);
  static void s(onnx::NodeProto& n, const std::string& key, const std::string& v);
  // Writes the model to a temporary file and returns its path.
  std::string save(const std::string& tag) const;

 private:
  onnx::ModelProto m_;
};

Tensor random_input(const Dims& shape, unsigned seed);
// Largest |a - b| / (1 + |b|) over all elements.
float max_rel_diff(const Tensor& a, const Tensor& b);

}  // namespace pm::engine::test
