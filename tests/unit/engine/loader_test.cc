// Loader features on edited copies of the generated model: external data, unsupported
// ops and opsets (errors name op and node), Constant nodes, runtime shape arithmetic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <onnx/onnx_pb.h>

#include "onnx/loader.h"
#include "onnx/tensor_proto.h"
#include "passes/passes.h"
#include "pixelmill/engine.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {
namespace {

namespace fs = std::filesystem;

struct TmpDir {
  TmpDir() : path(fs::temp_directory_path() / ("pm_loader_" + std::to_string(::getpid()))) { fs::create_directories(path); }
  ~TmpDir() { fs::remove_all(path); }
  fs::path path;
};

onnx::ModelProto tiny() {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(tiny_embed_onnx_bytes()));
  return m;
}

std::string save(const onnx::ModelProto& m, const fs::path& p) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  m.SerializeToOstream(&f);
  return p.string();
}

Tensor image(std::int64_t batch) {
  Tensor t(DType::kF32, {batch, 3, 64, 64});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = std::sin(float(i) * 0.01f);
  return t;
}

std::string error_of(const std::string& path) {
  try {
    Model::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Loader, ExternalDataMatchesEmbedded) {
  TmpDir dir;
  onnx::ModelProto m = tiny();
  const std::string embedded = save(m, dir.path / "embedded.onnx");
  // Move every initializer's bytes into one side file.
  std::ofstream data(dir.path / "weights.bin", std::ios::binary);
  std::int64_t offset = 0;
  for (auto& init : *m.mutable_graph()->mutable_initializer()) {
    const std::string bytes = init.raw_data();
    data.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* e = init.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", "weights.bin");
    add("offset", std::to_string(offset));
    add("length", std::to_string(bytes.size()));
    offset += static_cast<std::int64_t>(bytes.size());
  }
  data.close();
  const std::string external = save(m, dir.path / "external.onnx");
  Session a(Model::load(embedded)), b(Model::load(external));
  auto ya = a.run({image(2)});
  auto yb = b.run({image(2)});
  EXPECT_EQ(0, std::memcmp(ya[0].data(), yb[0].data(), ya[0].nbytes()));
  // A location outside the model directory is refused.
  m.mutable_graph()->mutable_initializer(0)->mutable_external_data(0)->set_value("../weights.bin");
  EXPECT_NE(error_of(save(m, dir.path / "escape.onnx")).find("leaves the model directory"), std::string::npos);
  // A truncated side file is an error, not a crash.
  fs::resize_file(dir.path / "weights.bin", 100);
  EXPECT_NE(error_of(external).find("out of range"), std::string::npos);
}

// Shapes whose element count overflows int64 are refused with an error, never wrapped to a
// small count (a wrapped [2^32, 2^32] once sized a 64-byte buffer that a Slice read 16 GiB
// past).
TEST(Loader, ShapesWhoseSizeOverflowsAreRefused) {
  TmpDir dir;
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("huge");
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(std::int64_t{1} << 32);
  tt->mutable_shape()->add_dim()->set_dim_value(std::int64_t{1} << 32);
  auto* node = g->add_node();
  node->set_op_type("Identity");
  node->add_input("x");
  node->add_output("y");
  auto* y = g->add_output();
  y->set_name("y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  const std::string path = save(m, dir.path / "huge.onnx");
  std::string err;
  try {
    auto model = Model::load(path);
    model->summary();
  } catch (const Error& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("64-bit"), std::string::npos) << "got: '" << err << "'";
  EXPECT_THROW(dims_product({std::int64_t{1} << 32, std::int64_t{1} << 32}), Error);
  EXPECT_THROW(Tensor(DType::kF32, {std::int64_t{1} << 31, std::int64_t{1} << 31, 4}), Error);
  EXPECT_EQ(dims_product({std::int64_t{1} << 31, std::int64_t{1} << 31}), std::int64_t{1} << 62);
}

TEST(Loader, UnsupportedOpNamesOpAndNode) {
  TmpDir dir;
  onnx::ModelProto m = tiny();
  m.mutable_graph()->mutable_node(1)->set_op_type("FancyNewOp");
  const std::string msg = error_of(save(m, dir.path / "op.onnx"));
  EXPECT_NE(msg.find("FancyNewOp"), std::string::npos) << msg;
  EXPECT_NE(msg.find(m.graph().node(1).name()), std::string::npos) << msg;
}

// A node with fewer inputs than its ONNX schema requires is the file's error (fuzzing
// found a Gemm with only A, whose shape inference then read B past the end).
TEST(Loader, MissingRequiredInputIsRefused) {
  TmpDir dir;
  onnx::ModelProto m = tiny();
  int at = -1;
  for (int i = 0; i < m.graph().node_size() && at < 0; ++i)
    if (m.graph().node(i).input_size() >= 2) at = i;
  ASSERT_GE(at, 0) << "the test model has no node with two inputs";
  auto* node = m.mutable_graph()->mutable_node(at);
  const std::string op = node->op_type();
  node->mutable_input()->DeleteSubrange(1, node->input_size() - 1);
  const std::string msg = error_of(save(m, dir.path / "short.onnx"));
  EXPECT_NE(msg.find("has 1 input(s); " + op + " at opset"), std::string::npos) << msg;
  // An empty name in a required place is no input either.
  node->add_input("");
  EXPECT_NE(error_of(save(m, dir.path / "empty.onnx")).find("needs"), std::string::npos);
}

// Constant folding may not turn a few bytes into gigabytes (fuzzing: a Range whose folded
// output was 14 GB); a fold of the size of its inputs still happens.
TEST(Loader, FoldingThatAmplifiesIsRefused) {
  TmpDir dir;
  onnx::ModelProto m = tiny();
  auto* g = m.mutable_graph();
  auto scalar = [&](const char* name, std::int64_t v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(v);
  };
  scalar("pm_start", 0);
  scalar("pm_limit", std::int64_t{1} << 30);  // 8 GiB of int64
  scalar("pm_delta", 1);
  auto* range = g->add_node();
  range->set_op_type("Range");
  range->set_name("huge_range");
  range->add_input("pm_start");
  range->add_input("pm_limit");
  range->add_input("pm_delta");
  range->add_output("pm_range");
  auto* out = g->add_output();
  out->set_name("pm_range");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  const std::string msg = error_of(save(m, dir.path / "range.onnx"));
  EXPECT_NE(msg.find("huge_range"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grow more than 64 MiB"), std::string::npos) << msg;
  // A small Range folds and loads.
  g->mutable_initializer(g->initializer_size() - 2)->set_int64_data(0, 1000);
  EXPECT_EQ(error_of(save(m, dir.path / "small.onnx")), "");
}

TEST(Loader, OpsetOutsideRangeIsRefused) {
  TmpDir dir;
  onnx::ModelProto m = tiny();
  m.mutable_opset_import(0)->set_version(8);
  EXPECT_NE(error_of(save(m, dir.path / "old.onnx")).find("opset 8"), std::string::npos);
  m.mutable_opset_import(0)->set_version(19);
  EXPECT_NE(error_of(save(m, dir.path / "new.onnx")).find("opset 19"), std::string::npos);
}

// x [1,4] -> op -> y at `opset`.
onnx::ModelProto one_op(const std::string& op, int opset) {
  onnx::ModelProto m;
  m.set_ir_version(4);
  m.add_opset_import()->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("one");
  for (auto* v : {g->add_input(), g->add_output()}) {
    v->set_name(v == &g->input(0) ? "x" : "y");
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  }
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("the_" + op);
  n->add_input("x");
  n->add_output("y");
  return m;
}

// EngineOptions::input_shapes replaces a placeholder declaration (CenterFace declares
// [10,3,32,32]); a wrong rank or an unknown input is an error naming it.
TEST(Loader, InputShapesOverrideThePlaceholderDeclaration) {
  TmpDir dir;
  const std::string path = save(one_op("Relu", 13), dir.path / "relu.onnx");
  Tensor x(DType::kF32, {3, 5});
  EXPECT_THROW(Session(Model::load(path)).run({x}), Error);  // declared [1,4]
  EngineOptions o;
  o.input_shapes["x"] = {-1, 5};
  auto m = Model::load(path, o);
  EXPECT_EQ(m->inputs()[0].shape, (Dims{-1, 5}));
  EXPECT_EQ(Session(m).run({x})[0].shape(), (Dims{3, 5}));
  o.input_shapes["x"] = {-1, 5, 1};
  EXPECT_THROW(Model::load(path, o), Error);
  o.input_shapes = {{"nope", {1, 4}}};
  try {
    Model::load(path, o);
    ADD_FAILURE() << "an unknown input was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no graph input 'nope'"), std::string::npos) << e.what();
  }
}

// Opsets 9 and 10 (CenterFace is opset 9): ops whose meaning did not change by opset 11
// load; an op whose inputs or attributes changed meaning is refused by name, never run
// with opset-11 semantics.
TEST(Loader, OpsetsBefore11TakeOnlyOpsThatDidNotChange) {
  TmpDir dir;
  for (int opset : {9, 10}) {
    EXPECT_EQ(error_of(save(one_op("Relu", opset), dir.path / "relu.onnx")), "") << opset;
    const std::string msg = error_of(save(one_op("Clip", opset), dir.path / "clip.onnx"));
    EXPECT_NE(msg.find("op 'Clip' (node 'the_Clip') is supported from opset 11 on; this file is opset " +
                       std::to_string(opset)),
              std::string::npos)
        << msg;
  }
  Session s(Model::load(save(one_op("Relu", 9), dir.path / "relu9.onnx")));
  Tensor x(DType::kF32, {1, 4});
  for (int i = 0; i < 4; ++i) x.ptr<float>()[i] = static_cast<float>(i) - 1.5f;
  const auto y = s.run({x});
  EXPECT_EQ(y[0].ptr<float>()[0], 0.f);
  EXPECT_EQ(y[0].ptr<float>()[3], 1.5f);
}

// Flatten replaced by the Shape/Gather/Unsqueeze/Concat/Reshape chain exporters emit for
// x.view(x.size(0), -1), with a Constant node and an Identity: folded per plan.
TEST(Loader, RuntimeShapeArithmetic) {
  TmpDir dir;
  onnx::ModelProto m = tiny();
  auto* g = m.mutable_graph();
  int flat = -1;
  for (int i = 0; i < g->node_size(); ++i)
    if (g->node(i).op_type() == "Flatten") flat = i;
  ASSERT_GE(flat, 0);
  onnx::GraphProto rebuilt;
  for (int i = 0; i < g->node_size(); ++i) {
    if (i != flat) {
      *rebuilt.add_node() = g->node(i);
      continue;
    }
    auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
      auto* n = rebuilt.add_node();
      n->set_op_type(op);
      n->set_name("chain_" + out);
      for (auto& s : in) n->add_input(s);
      n->add_output(out);
      return n;
    };
    auto* c0 = node("Constant", {}, "zero");
    auto* a = c0->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    Tensor zero(DType::kI64, {});
    tensor_to_proto(zero, "", *a->mutable_t());
    auto* cm1 = node("Constant", {}, "minus1");
    auto* am = cm1->add_attribute();
    am->set_name("value_ints");
    am->set_type(onnx::AttributeProto::INTS);
    am->add_ints(-1);
    node("Shape", {"pool.out"}, "shape");
    node("Gather", {"shape", "zero"}, "batch");
    auto* u = node("Unsqueeze", {"batch"}, "batch1");
    u->add_input("axes0");
    node("Concat", {"batch1", "minus1"}, "target");
    auto* attr = rebuilt.mutable_node(rebuilt.node_size() - 1)->add_attribute();
    attr->set_name("axis");
    attr->set_type(onnx::AttributeProto::INT);
    attr->set_i(0);
    node("Identity", {"target"}, "target_id");
    node("Reshape", {"pool.out", "target_id"}, "flat.out");
  }
  Tensor axes(DType::kI64, {1});
  tensor_to_proto(axes, "axes0", *g->add_initializer());
  g->mutable_node()->Swap(rebuilt.mutable_node());
  const std::string edited = save(m, dir.path / "chain.onnx");
  const std::string plain = save(tiny(), dir.path / "plain.onnx");
  Session a(Model::load(plain)), b(Model::load(edited));
  for (std::int64_t batch : {1, 4}) {
    auto ya = a.run({image(batch)});
    auto yb = b.run({image(batch)});
    ASSERT_EQ(yb[0].shape(), (Dims{batch, 32}));
    EXPECT_EQ(0, std::memcmp(ya[0].data(), yb[0].data(), ya[0].nbytes()));
  }
}

TEST(Passes, BatchNormFoldedAndConvsFused) {
  TmpDir dir;
  const std::string path = save(tiny(), dir.path / "t.onnx");
  Graph g = load_onnx(path);
  PassContext ctx{EngineOptions{}, nullptr};
  run_pipeline(g, load_passes(EngineOptions{}), ctx);
  for (const auto& n : g.nodes) EXPECT_NE(n.op, "BatchNormalization");
  std::map<std::string, ValueType> types;
  specialize_shapes(g, {{"input", {2, 3, 64, 64}}}, types);
  ctx.types = &types;
  run_pipeline(g, plan_passes(EngineOptions{}), ctx);
  int fused = 0, with_residual = 0, relus = 0, adds = 0;
  for (const auto& n : g.nodes) {
    fused += n.op == "pm.FusedConv";
    with_residual += n.op == "pm.FusedConv" && n.has_input(3);
    relus += n.op == "Relu";
    adds += n.op == "Add";
  }
  EXPECT_EQ(fused, 4);          // every conv took its activation (and the residual add)
  EXPECT_EQ(with_residual, 1);
  EXPECT_EQ(relus, 0);
  EXPECT_EQ(adds, 0);
  EXPECT_EQ(types.at("embedding").shape, (Dims{2, 32}));
}

TEST(Session, ManyShapesStayCorrect) {
  TmpDir dir;
  const std::string path = save(tiny(), dir.path / "t.onnx");
  Session s(Model::load(path));
  auto first = s.run({image(1)});
  for (std::int64_t b = 1; b <= 10; ++b) {
    auto y = s.run({image(b)});
    ASSERT_EQ(y[0].shape(), (Dims{b, 32}));
    // Row 0 of the same image is the same whatever the batch (up to summation order).
    for (int i = 0; i < 32; ++i) EXPECT_NEAR(y[0].ptr<float>()[i], first[0].ptr<float>()[i], 1e-4f);
  }
  auto again = s.run({image(1)});
  EXPECT_EQ(0, std::memcmp(again[0].data(), first[0].data(), first[0].nbytes()));
}

TEST(Session, Bf16IsCloseToFp32) {
  TmpDir dir;
  const std::string path = save(tiny(), dir.path / "t.onnx");
  EngineOptions bf;
  bf.precision = Precision::kBF16;
  Session a(Model::load(path)), b(Model::load(path, bf));
  auto ya = a.run({image(4)});
  auto yb = b.run({image(4)});
  for (int r = 0; r < 4; ++r) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < 32; ++i) {
      const double x = ya[0].ptr<float>()[r * 32 + i], y = yb[0].ptr<float>()[r * 32 + i];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    EXPECT_GT(dot / std::sqrt(na * nb), 0.999) << "row " << r << (engine_has_bf16() ? " (bf16)" : " (fp32 fallback)");
  }
}

}  // namespace
}  // namespace pm::engine
