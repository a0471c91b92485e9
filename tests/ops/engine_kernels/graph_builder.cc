#include "graph_builder.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "onnx/tensor_proto.h"

namespace pm::engine::test {

GraphBuilder::GraphBuilder(int opset) {
  m_.set_ir_version(8);
  auto* op = m_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m_.mutable_graph()->set_name("test");
}

void GraphBuilder::input(const std::string& name, const Dims& shape, bool dynamic_batch, int elem_type) {
  auto* v = m_.mutable_graph()->add_input();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  for (std::size_t k = 0; k < shape.size(); ++k) {
    auto* d = tt->mutable_shape()->add_dim();
    if (k == 0 && dynamic_batch) d->set_dim_param("batch");
    else d->set_dim_value(shape[k]);
  }
}

void GraphBuilder::output(const std::string& name) {
  auto* v = m_.mutable_graph()->add_output();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
}

void GraphBuilder::weight(const std::string& name, const Dims& shape, unsigned seed, float scale, float offset) {
  Tensor t = random_input(shape, seed);
  for (std::int64_t k = 0; k < t.numel(); ++k) t.ptr<float>()[k] = offset + scale * t.ptr<float>()[k];
  tensor_to_proto(t, name, *m_.mutable_graph()->add_initializer());
}

void GraphBuilder::constant(const std::string& name, const Tensor& t) {
  tensor_to_proto(t, name, *m_.mutable_graph()->add_initializer());
}

onnx::NodeProto& GraphBuilder::node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  auto* n = m_.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(m_.graph().node_size()));
  for (auto& x : in) n->add_input(x);
  for (auto& x : out) n->add_output(x);
  return *n;
}

void GraphBuilder::ints(onnx::NodeProto& n, const std::string& key, std::vector<std::int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}
void GraphBuilder::i(onnx::NodeProto& n, const std::string& key, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void GraphBuilder::f(onnx::NodeProto& n, const std::string& key, float v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void GraphBuilder::s(onnx::NodeProto& n, const std::string& key, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

std::string GraphBuilder::save(const std::string& tag) const {
  const auto path = std::filesystem::temp_directory_path() /
                    ("pm_kernel_" + tag + "_" + std::to_string(::getpid()) + ".onnx");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  m_.SerializeToOstream(&f);
  return path.string();
}

GraphBuilder inverted_residual(std::int64_t c, std::int64_t hw, std::int64_t stride) {
  GraphBuilder b;
  b.input("x", {-1, c, hw, hw}, true);
  b.weight("we", {4 * c, c, 1, 1}, 1, 0.3f);
  b.weight("be", {4 * c}, 2, 0.1f);
  b.weight("wd", {4 * c, 1, 3, 3}, 3, 0.3f);
  b.weight("bd", {4 * c}, 4, 0.1f);
  b.weight("wp", {c, 4 * c, 1, 1}, 5, 0.3f);
  b.weight("wf", {10, c}, 6, 0.3f);
  Tensor lo(DType::kF32, {}), hi(DType::kF32, {});
  *hi.ptr<float>() = 6.f;
  b.constant("lo", lo);
  b.constant("hi", hi);
  b.node("Conv", {"x", "we", "be"}, {"e"});
  b.node("Clip", {"e", "lo", "hi"}, {"er"});
  auto& dw = b.node("Conv", {"er", "wd", "bd"}, {"d"});
  GraphBuilder::ints(dw, "pads", {1, 1, 1, 1});
  GraphBuilder::ints(dw, "strides", {stride, stride});
  GraphBuilder::i(dw, "group", 4 * c);
  b.node("Clip", {"d", "lo", "hi"}, {"dr"});
  b.node("Conv", {"dr", "wp"}, {stride == 1 ? "p" : "s"});
  if (stride == 1) b.node("Add", {"p", "x"}, {"s"});
  b.node("GlobalAveragePool", {"s"}, {"g"});
  b.node("Flatten", {"g"}, {"f"});
  auto& fc = b.node("Gemm", {"f", "wf"}, {"y"});
  GraphBuilder::i(fc, "transB", 1);
  b.output("s");
  b.output("y");
  return b;
}

Tensor random_input(const Dims& shape, unsigned seed) {
  Tensor t(DType::kF32, shape);
  std::uint32_t x = seed * 747796405u + 2891336453u;
  for (std::int64_t k = 0; k < t.numel(); ++k) {
    x = x * 1664525u + 1013904223u;
    t.ptr<float>()[k] = float(x >> 8) / float(1 << 24) * 2.f - 1.f;
  }
  return t;
}

}  // namespace pm::engine::test
