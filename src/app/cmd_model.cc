// `pixelmill model info|run|bench|make-test`: the engine on raw ONNX files, without images.
// Runs on rank 0 only (the others wait for its verdict): these are single-process tools.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "commands.h"
#include "engine_flags.h"
#include "model_detect.h"
#include "model_quantize.h"
#include "pixelmill/engine.h"
#include "pixelmill/agreed.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"
#include "pixelmill/limits.h"
#include "pixelmill/detector.h"
#include "pixelmill/model_card.h"

namespace pm::app {

namespace {

using engine::EngineOptions;
using engine::Model;
using engine::Precision;
using engine::Session;

const char* kSynopsis =
    "info|run|bench|detect|quantize|make-test [OPTIONS]\n\n"
    "  info      --model M.onnx [--batch B --height H --width W]  ops, parameters, MACs\n"
    "  run       --model M.onnx --input IN.npy [--input ...] --output OUT.npy [--output ...]\n"
    "  bench     --model M.onnx --batch B --threads T --precision fp32|bf16|int8\n"
    "  detect    --model DET.json --image FILE [FILE ...]  boxes per image, one JSON line each\n"
    "  quantize  --model M.json --calibration dir:IMAGES --output M.int8.onnx  int8 QDQ model + card\n"
    "  make-test --out DIR   writes DIR/tiny_embed.onnx and its card DIR/tiny_embed.json";

Precision parse_precision(const std::string& p) {
  if (p == "fp32") return Precision::kF32;
  if (p == "bf16") return Precision::kBF16;
  if (p == "int8") return Precision::kInt8;
  throw Error("--precision must be fp32, bf16 or int8, not '" + p + "'");
}

// Concrete input shapes for info/bench: dynamic dims filled from --batch/--height/--width
// (NCHW: dims 2,3; NHWC with 3 channels last: dims 1,2).
std::vector<Dims> concrete_shapes(const Model& m, std::int64_t batch, std::int64_t h, std::int64_t w) {
  std::vector<Dims> shapes;
  for (const auto& in : m.inputs()) {
    Dims d = in.shape;
    const bool nhwc = d.size() == 4 && d[3] == 3 && d[1] != 3;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d[i] >= 0) continue;
      if (i == 0) d[i] = batch;
      else if (d.size() == 4 && i == (nhwc ? 1u : 2u)) d[i] = h;
      else if (d.size() == 4 && i == (nhwc ? 2u : 3u)) d[i] = w;
      else throw Error("input '" + in.name + "' has a dynamic dimension " + std::to_string(i) + " that bench cannot fill");
    }
    shapes.push_back(d);
  }
  return shapes;
}

Tensor synthetic_input(DType dt, const Dims& shape) {
  Tensor t(dt, shape);
  std::uint32_t s = 12345;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    switch (dt) {
      case DType::kF32: t.ptr<float>()[i] = float(s >> 8) / float(1 << 24); break;
      case DType::kU8: t.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(s >> 24); break;
      default: break;  // zeros
    }
  }
  return t;
}

// --model names the ONNX file or its card; a card is resolved to its file (sha256 checked),
// a bare ONNX file needs no card here (zoo exports have none).
std::string onnx_file(const po::variables_map& vm) {
  const std::string& m = vm["model"].as<std::string>();
  return is_model_card_path(m) ? resolve_model(m).onnx : m;
}

int cmd_info(const Args& args) {
  po::options_description d("model info");
  d.add_options()("model", po::value<std::string>()->required(), "ONNX file, or its model card (.json)")(
      "batch", po::value<std::int64_t>()->default_value(1), "batch size for the MAC count")(
      "height", po::value<std::int64_t>()->default_value(224), "height for dynamic spatial dims")(
      "width", po::value<std::int64_t>()->default_value(224), "width for dynamic spatial dims");
  add_engine_flags(d);
  auto vm = parse_flags("model info", kSynopsis, d, args);
  if (!vm) return 0;
  auto m = Model::load(onnx_file(*vm), engine_options(*vm));
  std::map<std::string, Dims> shapes;
  auto concrete = concrete_shapes(*m, (*vm)["batch"].as<std::int64_t>(), (*vm)["height"].as<std::int64_t>(),
                                  (*vm)["width"].as<std::int64_t>());
  for (std::size_t i = 0; i < concrete.size(); ++i) shapes[m->inputs()[i].name] = concrete[i];
  auto s = m->summary(shapes);
  std::cout << "model: " << (*vm)["model"].as<std::string>() << "\nopset: " << s.opset << "\n";
  for (const auto& in : m->inputs())
    std::cout << "input: " << in.name << " " << dtype_name(in.dtype) << " " << dims_str(in.shape) << "\n";
  for (const auto& out : m->outputs())
    std::cout << "output: " << out.name << " " << dtype_name(out.dtype) << " " << dims_str(out.shape) << "\n";
  std::cout << "parameters: " << s.parameters << "\n";
  std::cout << "ops:";
  for (const auto& [op, n] : s.op_counts) std::cout << " " << op << "=" << n;
  std::cout << "\n";
  std::cout << "MACs: " << s.macs << " for";
  for (const auto& [name, d2] : shapes) std::cout << " " << name << dims_str(d2);
  std::cout << "\n";
  return 0;
}

int cmd_run(const Args& args) {
  po::options_description d("model run");
  d.add_options()("model", po::value<std::string>()->required(), "ONNX file, or its model card (.json)")(
      "input", po::value<std::vector<std::string>>()->required(), ".npy per graph input, in order")(
      "output", po::value<std::vector<std::string>>()->required(), ".npy per graph output, in order")(
      "threads", po::value<int>()->default_value(0), "OpenMP threads (0 = runtime default)")(
      "precision", po::value<std::string>()->default_value("fp32"),
      "fp32, bf16, or int8 (a QDQ model's convolutions and matmuls on oneDNN int8)");
  add_engine_flags(d);
  auto vm = parse_flags("model run", kSynopsis, d, args);
  if (!vm) return 0;
  EngineOptions o = engine_options(*vm);
  o.threads = (*vm)["threads"].as<int>();
  if (o.threads < 0 || o.threads > kMaxThreadsPerRank)
    throw Error("--threads must be in 0.." + std::to_string(kMaxThreadsPerRank) + ", not " + std::to_string(o.threads));
  o.precision = parse_precision((*vm)["precision"].as<std::string>());
  auto m = Model::load(onnx_file(*vm), o);
  const auto& in_paths = (*vm)["input"].as<std::vector<std::string>>();
  const auto& out_paths = (*vm)["output"].as<std::vector<std::string>>();
  if (in_paths.size() != m->inputs().size())
    throw Error("the model has " + std::to_string(m->inputs().size()) + " inputs, " +
                std::to_string(in_paths.size()) + " --input given");
  if (out_paths.size() != m->outputs().size())
    throw Error("the model has " + std::to_string(m->outputs().size()) + " outputs, " +
                std::to_string(out_paths.size()) + " --output given");
  std::vector<Tensor> inputs;
  for (const auto& p : in_paths) inputs.push_back(engine::read_npy(p));
  Session s(m);
  auto outputs = s.run(inputs);
  for (std::size_t i = 0; i < outputs.size(); ++i) engine::write_npy(out_paths[i], outputs[i]);
  return 0;
}

int cmd_bench(const Args& args) {
  po::options_description d("model bench");
  d.add_options()("model", po::value<std::string>()->required(), "ONNX file, or its model card (.json)")(
      "batch", po::value<std::int64_t>()->default_value(16), "batch size")(
      "threads", po::value<int>()->default_value(1), "OpenMP threads")(
      "precision", po::value<std::string>()->default_value("fp32"),
      "fp32, bf16, or int8 (a QDQ model's convolutions and matmuls on oneDNN int8)")(
      "height", po::value<std::int64_t>()->default_value(224), "height for dynamic spatial dims")(
      "width", po::value<std::int64_t>()->default_value(224), "width for dynamic spatial dims")(
      "warmup", po::value<int>()->default_value(2), "untimed runs first")(
      "runs", po::value<int>()->default_value(5), "timed runs (median, min and max are printed)");
  add_engine_flags(d);
  auto vm = parse_flags("model bench", kSynopsis, d, args);
  if (!vm) return 0;
  EngineOptions o = engine_options(*vm);
  o.threads = (*vm)["threads"].as<int>();
  if (o.threads <= 0 || o.threads > kMaxThreadsPerRank)
    throw Error("--threads must be in 1.." + std::to_string(kMaxThreadsPerRank) + ", not " + std::to_string(o.threads));
  o.precision = parse_precision((*vm)["precision"].as<std::string>());
  const auto batch = (*vm)["batch"].as<std::int64_t>();
  if (batch <= 0 || batch > kMaxBatch)
    throw Error("--batch must be in 1.." + std::to_string(kMaxBatch) + ", not " + std::to_string(batch));
  if ((*vm)["warmup"].as<int>() < 0) throw Error("--warmup cannot be negative");
  if ((*vm)["runs"].as<int>() < 1) throw Error("--runs must be at least 1");
  const int runs = (*vm)["runs"].as<int>();
  // A detector's card runs the file at the card's input size (CenterFace declares a
  // placeholder one), as `model detect` and `extract --detector` do.
  std::shared_ptr<const Model> m;
  std::int64_t h = (*vm)["height"].as<std::int64_t>(), w = (*vm)["width"].as<std::int64_t>();
  const std::string& named = (*vm)["model"].as<std::string>();
  if (is_model_card_path(named)) {
    const ModelFiles files = resolve_model(named);
    if (files.card.detector) {
      m = load_detector_model(files, o);
      h = files.card.input.height;
      w = files.card.input.width;
    }
  }
  if (!m) m = Model::load(onnx_file(*vm), o);
  auto shapes = concrete_shapes(*m, batch, h, w);
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < shapes.size(); ++i) inputs.push_back(synthetic_input(m->inputs()[i].dtype, shapes[i]));
  Session s(m);
  for (int i = 0; i < (*vm)["warmup"].as<int>(); ++i) s.run(inputs);
  std::vector<double> secs;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    s.run(inputs);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  const double med = secs[secs.size() / 2];
  std::printf("%s batch=%lld threads=%d precision=%s%s: %.2f img/s (median of %d; min %.2f, max %.2f img/s)\n",
              (*vm)["model"].as<std::string>().c_str(), static_cast<long long>(batch), o.threads,
              (*vm)["precision"].as<std::string>().c_str(), o.reference ? " reference" : "",
              double(batch) / med, runs, double(batch) / secs.back(), double(batch) / secs.front());
  return 0;
}

int cmd_make_test(const Args& args) {
  po::options_description d("model make-test");
  d.add_options()("out", po::value<std::string>()->required(), "directory for tiny_embed.onnx/.json");
  auto vm = parse_flags("model make-test", kSynopsis, d, args);
  if (!vm) return 0;
  std::cout << engine::write_tiny_embed((*vm)["out"].as<std::string>()) << "\n";
  return 0;
}

}  // namespace

int cmd_model(const Args& args, const Comm& comm) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    if (comm.rank() == 0) std::cout << "Usage: pixelmill model " << kSynopsis << "\n";
    return args.empty() ? 2 : 0;
  }
  const std::string sub = args[0];
  const Args rest(args.begin() + 1, args.end());
  agreed(comm, "", [&] {
    if (sub != "info" && sub != "run" && sub != "bench" && sub != "detect" && sub != "quantize" &&
        sub != "make-test")
      throw Error("unknown model subcommand '" + sub + "' (info, run, bench, detect, quantize, make-test)");
  });
  // The tools run on rank 0; its verdict (an error or the exit code) is shared so that a
  // bad flag fails every rank, not only rank 0.
  const std::string rc = agreed_on_root(comm, "", [&] {
    int code = 0;
    if (sub == "info") code = cmd_info(rest);
    else if (sub == "run") code = cmd_run(rest);
    else if (sub == "bench") code = cmd_bench(rest);
    else if (sub == "detect") code = cmd_model_detect(rest, kSynopsis);
    else if (sub == "quantize") code = cmd_model_quantize(rest, kSynopsis);
    else code = cmd_make_test(rest);
    return std::to_string(code);
  });
  return std::stoi(rc);
}

}  // namespace pm::app
