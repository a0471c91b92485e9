// `pixelmill model quantize`: post-training static quantization of a carded model into a
// QDQ ONNX file and its card (pm::quantize_model). Runs on rank 0 (cmd_model).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "model_quantize.h"
#include "pixelmill/error.h"
#include "pixelmill/quantize.h"

namespace pm::app {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int cmd_model_quantize(const Args& args, const char* synopsis) {
  QuantizeOptions o;
  std::string method = "minmax", keep;
  bool equalize = false;
  po::options_description d("model quantize");
  d.add_options()
      ("model", po::value(&o.model)->required(), "the fp32 model's card (.json) or ONNX file (card beside it)")
      ("calibration", po::value(&o.calibration)->required(),
       "dir:PATH or list:FILE: images like the ones the model will see (a fixed-seed sample is taken)")
      ("images", po::value(&o.images)->default_value(o.images), "calibration images")
      ("check-images", po::value(&o.check_images)->default_value(o.check_images),
       "further images of the same source, never calibrated on, for the accuracy check (at least 4)")
      ("method", po::value(&method)->default_value(method),
       "activation ranges: minmax, percentile (--percentile of the values) or entropy (least KL divergence)")
      ("percentile", po::value(&o.percentile)->default_value(o.percentile, "99.99"),
       "with --method percentile: the top of each range is this percentile, the bottom the (100 - p)th")
      ("target-cosine", po::value(&o.target_cosine)->default_value(o.target_cosine, "0.993"),
       "keep the most sensitive layers fp32 until the median and 1st-percentile cosine of the check "
       "images' embeddings to fp32 reach this (0 = every layer int8)")
      ("equalize", po::bool_switch(&equalize),
       "rescale the channels of activations between two convolutions (Conv -> [Relu] -> Conv) before "
       "calibrating, so that one scale fits them all")
      ("keep-fp32", po::value(&keep)->default_value(""), "comma-separated node names always left fp32")
      ("output", po::value(&o.output)->required(), "the QDQ model, M.int8.onnx; its card is written beside it (.json)")
      ("batch", po::value(&o.batch)->default_value(o.batch), "images per engine run")
      ("threads", po::value(&o.threads)->default_value(0), "OpenMP threads (0 = runtime default)")
      ("max-bytes", po::value(&o.max_bytes)->default_value(o.max_bytes), "largest image file read")
      ("max-pixels", po::value(&o.max_pixels)->default_value(o.max_pixels), "largest decoded image");
  auto vm = parse_flags("model quantize", synopsis, d, args);
  if (!vm) return 0;
  o.method = parse_calibration_method(method);
  o.keep_fp32 = split_commas(keep);
  o.equalize = equalize;
  o.log = [](const std::string& line) { std::cerr << "pixelmill model quantize: " << line << "\n"; };
  const QuantizeResult r = quantize_model(o);

  int quantized = 0;
  for (const auto& l : r.layers) quantized += l.quantized;
  std::printf("%s: %d of %zu layers int8 (calibrated on %d images, %s)\n", r.onnx_path.c_str(), quantized,
              r.layers.size(), r.calibration_images, calibration_method_name(o.method));
  std::printf("cosine to fp32 on %d check images: median %.5f, 1st percentile %.5f, min %.5f "
              "(every layer int8: %.5f, %.5f)\n",
              r.written.images, r.written.median, r.written.p01, r.written.min, r.all_quantized.median,
              r.all_quantized.p01);
  for (const auto& l : r.layers)
    if (!l.quantized) std::printf("  kept fp32: %s (%s; alone %.5f)\n", l.target.node.c_str(), l.target.op.c_str(),
                                  l.mean_cosine);
  std::printf("card: %s\nto make it the model's int8 sibling, add to the fp32 card: \"quantized\": \"%s\"\n",
              r.card_path.c_str(), std::filesystem::path(r.card_path).filename().c_str());
  return 0;
}

}  // namespace pm::app
