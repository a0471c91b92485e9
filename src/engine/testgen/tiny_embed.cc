// The generated test model: a small CNN with the op mix of real embedding networks (conv +
// BatchNormalization + Relu, a depthwise conv, a residual Add, GlobalAveragePool, Flatten,
// Gemm) and fixed-seed weights, so that every test of the project can run a real network
// in milliseconds. Weights come from a fixed LCG, not <random> distributions, whose output
// differs between standard libraries.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <nlohmann/json.hpp>

#include "onnx/tensor_proto.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

class Lcg {
 public:
  explicit Lcg(std::uint64_t seed) : s_(seed) {}
  // Uniform in [-1, 1).
  float next() {
    s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
    return float((s_ >> 40) & 0xffffff) / float(1 << 23) - 1.f;
  }

 private:
  std::uint64_t s_;
};

struct Builder {
  onnx::GraphProto* g;
  Lcg rng{20261126};

  void init(const std::string& name, const Dims& shape, float scale, float offset = 0.f) {
    Tensor t(DType::kF32, shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = offset + scale * rng.next();
    tensor_to_proto(t, name, *g->add_initializer());
  }
  onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> in,
                        std::vector<std::string> out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void ints(onnx::NodeProto* n, const std::string& key, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void int1(onnx::NodeProto* n, const std::string& key, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  // conv (+ BN) with He-like weight scale so activations keep their magnitude.
  std::string conv(const std::string& name, const std::string& x, std::int64_t cin, std::int64_t cout,
                   std::int64_t k, std::int64_t stride, std::int64_t group, bool bn) {
    const float fan_in = float(cin / group * k * k);
    init(name + ".weight", {cout, cin / group, k, k}, std::sqrt(6.f / fan_in));
    std::vector<std::string> in{x, name + ".weight"};
    if (!bn) {
      init(name + ".bias", {cout}, 0.1f);
      in.push_back(name + ".bias");
    }
    auto* n = node("Conv", name, in, {name + ".out"});
    ints(n, "kernel_shape", {k, k});
    ints(n, "strides", {stride, stride});
    ints(n, "pads", {k / 2, k / 2, k / 2, k / 2});
    if (group != 1) int1(n, "group", group);
    if (!bn) return name + ".out";
    init(name + ".bn.scale", {cout}, 0.25f, 1.f);
    init(name + ".bn.bias", {cout}, 0.1f);
    init(name + ".bn.mean", {cout}, 0.1f);
    init(name + ".bn.var", {cout}, 0.25f, 1.f);
    node("BatchNormalization", name + ".bn",
         {name + ".out", name + ".bn.scale", name + ".bn.bias", name + ".bn.mean", name + ".bn.var"},
         {name + ".bn.out"});
    return name + ".bn.out";
  }
  std::string relu(const std::string& name, const std::string& x) {
    node("Relu", name, {x}, {name + ".out"});
    return name + ".out";
  }
};

void set_tensor_type(onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  for (auto d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) dim->set_dim_param("batch");
    else dim->set_dim_value(d);
  }
}

}  // namespace

std::string tiny_embed_onnx_bytes() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("pixelmill");
  m.set_producer_version("tiny_embed-1");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("tiny_embed");
  set_tensor_type(g->add_input(), "input", {-1, 3, 64, 64});
  Builder b{g};
  std::string x = b.relu("relu1", b.conv("conv1", "input", 3, 16, 3, 2, 1, true));          // 16x32x32
  std::string y = b.relu("relu2", b.conv("dwconv2", x, 16, 16, 3, 1, 16, true));           // depthwise
  y = b.conv("pwconv3", y, 16, 16, 1, 1, 1, true);                                            // pointwise
  b.node("Add", "residual", {y, x}, {"residual.out"});
  std::string z = b.relu("relu3", "residual.out");
  z = b.relu("relu4", b.conv("conv4", z, 16, 32, 3, 2, 1, false));                          // 32x16x16
  b.node("GlobalAveragePool", "pool", {z}, {"pool.out"});
  auto* flat = b.node("Flatten", "flatten", {"pool.out"}, {"flat.out"});
  Builder::int1(flat, "axis", 1);
  b.init("fc.weight", {32, 32}, std::sqrt(6.f / 32.f));
  b.init("fc.bias", {32}, 0.1f);
  auto* fc = b.node("Gemm", "fc", {"flat.out", "fc.weight", "fc.bias"}, {"embedding"});
  Builder::int1(fc, "transB", 1);
  set_tensor_type(g->add_output(), "embedding", {-1, 32});
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream sos(&bytes);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    PM_CHECK(m.SerializeToCodedStream(&cos), "serializing the test model failed");
  }
  return bytes;
}

std::string write_tiny_embed(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string bytes = tiny_embed_onnx_bytes();
  const std::string onnx_path = dir + "/tiny_embed.onnx";
  {
    std::ofstream f(onnx_path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    PM_CHECK(f.good(), "cannot write " + onnx_path);
  }
  nlohmann::ordered_json card;
  card["name"] = "tiny_embed";
  card["description"] =
      "Generated test model: a small CNN with fixed-seed random weights (not pretrained). "
      "Deterministic: the same bytes on every run.";
  card["file"] = "tiny_embed.onnx";
  card["sha256"] = sha256_hex(bytes);
  card["pretrained"] = false;
  card["input"] = {{"name", "input"}, {"dtype", "float32"}, {"layout", "NCHW"},
                   {"color", "RGB"},  {"height", 64},       {"width", 64}};
  card["resize"] = "squash";
  card["interpolation"] = "area";
  card["scale"] = 0.00392156862745098;
  card["mean"] = {0.485, 0.456, 0.406};
  card["std"] = {0.229, 0.224, 0.225};
  card["embedding"] = {{"output", "embedding"}, {"dim", 32}, {"normalize", "l2"}};
  card["dedup"] = {{"threshold", 0.9}};
  const std::string card_path = dir + "/tiny_embed.json";
  std::ofstream f(card_path, std::ios::trunc);
  f << card.dump(2) << "\n";
  PM_CHECK(f.good(), "cannot write " + card_path);
  return onnx_path;
}

}  // namespace pm::engine
