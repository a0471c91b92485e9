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

// An inverted-residual block (MobileNetV2) on input x [-1, c, hw, hw]: 1x1 expand to 4c,
// ReLU6, 3x3 depthwise (pad 1, `stride`), ReLU6, 1x1 project, residual add when the
// stride is 1, then GlobalAveragePool, Flatten and a 10-way Gemm. Outputs "s" and "y".
GraphBuilder inverted_residual(std::int64_t c, std::int64_t hw, std::int64_t stride = 1);

Tensor random_input(const Dims& shape, unsigned seed);

}  // namespace pm::engine::test
