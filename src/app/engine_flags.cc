// Engine flags shared by the `model` tools: --reference, --verbose, --conv-algo, --micro-batch.
#include "engine_flags.h"

#include "pixelmill/error.h"

namespace pm::app {

void add_engine_flags(po::options_description& d) {
  d.add_options()("reference", po::bool_switch(), "run every op on the plain C++ reference kernels")(
      "verbose", po::bool_switch(), "log passes and each kernel choice (and why) to stderr")(
      "conv-algo", po::value<std::string>()->default_value("auto"),
      "auto (Winograd for fp32 3x3 stride-1 convolutions where oneDNN has it) or direct")(
      "micro-batch", po::value<int>()->default_value(0),
      "rows run through the network at once: 0 = engine's choice, N = at most N, -1 = whole batch");
}

engine::EngineOptions engine_options(const po::variables_map& vm) {
  engine::EngineOptions o;
  o.reference = vm["reference"].as<bool>();
  o.verbose = vm["verbose"].as<bool>();
  const std::string algo = vm["conv-algo"].as<std::string>();
  if (algo == "auto") o.conv_algorithm = engine::ConvAlgorithm::kAuto;
  else if (algo == "direct") o.conv_algorithm = engine::ConvAlgorithm::kDirect;
  else throw Error("--conv-algo must be auto or direct, got '" + algo + "'");
  o.micro_batch = vm["micro-batch"].as<int>();
  if (o.micro_batch < -1) throw Error("--micro-batch must be -1, 0 or a row count, not " + std::to_string(o.micro_batch));
  return o;
}

}  // namespace pm::app
