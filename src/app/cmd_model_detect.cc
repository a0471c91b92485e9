// `pixelmill model detect`: a detector (its card) on image files, one JSON line per image
// with its boxes in the image's own (EXIF-oriented, full-size) pixels. A tool for looking
// at a detector and for checking it against other runtimes; `extract --detector` runs the
// same Detector at scale.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "engine_flags.h"
#include "model_detect.h"
#include "pixelmill/decode.h"
#include "pixelmill/detector.h"
#include "pixelmill/error.h"

namespace pm::app {

namespace {

// The file's bytes, at most max_bytes + 1 of them (decode_image then says kTooLarge);
// nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path, std::int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string s(static_cast<std::size_t>(max_bytes) + 1, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  if (in.bad()) return std::nullopt;
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}


}  // namespace

void add_detect_flags(po::options_description& d) {
  d.add_options()("min-score", po::value<float>(), "keep boxes scoring at least this (default: the card's)")(
      "nms-iou", po::value<float>(), "suppress a box overlapping a better one of its class more than this IoU "
                                     "(default: the card's)")(
      "max-detections", po::value<int>(), "at most this many boxes per image (default: the card's)")(
      "classes", po::value<std::string>()->default_value(""), "comma-separated class names to keep (default: all)");
}

DetectParams detect_params(const po::variables_map& vm, const DetectorSpec& spec, const char* max_flag) {
  DetectParams p = default_detect_params(spec);
  if (vm.count("min-score")) p.min_score = vm["min-score"].as<float>();
  if (vm.count("nms-iou")) p.nms_iou = vm["nms-iou"].as<float>();
  if (vm.count(max_flag)) p.max_detections = vm[max_flag].as<int>();
  if (!(p.min_score >= 0.f && p.min_score <= 1.f)) throw Error("--min-score must be in [0, 1]");
  if (!(p.nms_iou >= 0.f && p.nms_iou <= 1.f)) throw Error("--nms-iou must be in [0, 1]");
  if (p.max_detections < 1 || p.max_detections > 100000)
    throw Error(std::string("--") + max_flag + " must be in 1..100000");
  p.classes = class_ids(vm["classes"].as<std::string>(), spec);
  return p;
}

int cmd_model_detect(const Args& args, const char* synopsis) {
  po::options_description d("model detect");
  d.add_options()("model", po::value<std::string>()->required(), "detector: its ONNX file or model card (.json)")(
      "image", po::value<std::vector<std::string>>()->multitoken()->required(), "image files")(
      "threads", po::value<int>()->default_value(0), "OpenMP threads (0 = runtime default)");
  add_detect_flags(d);
  add_engine_flags(d);
  auto vm = parse_flags("model detect", synopsis, d, args);
  if (!vm) return 0;
  const ModelFiles files = resolve_model((*vm)["model"].as<std::string>());
  if (!files.card.detector)
    throw Error("--model " + files.card.path + " is an embedding model; model detect needs a detector's card");
  const DetectParams params = detect_params(*vm, *files.card.detector, "max-detections");
  engine::EngineOptions opts = engine_options(*vm);
  opts.threads = (*vm)["threads"].as<int>();
  Detector det(load_detector_model(files, opts), files.card, params);
  DecodeOptions dopt;
  int failed = 0;
  for (const std::string& path : (*vm)["image"].as<std::vector<std::string>>()) {
    nlohmann::ordered_json line{{"image", path}};
    const auto bytes = read_file(path, dopt.max_bytes);
    DecodedImage img;
    if (!bytes) {
      line["status"] = std::string(status_name(StatusCode::kReadError)) + ": cannot read the file";
      ++failed;
    } else if (img = decode_image(*bytes, dopt); !img.status.is_ok()) {
      line["status"] = std::string(status_name(img.status.code)) + ": " + img.status.message;
      ++failed;
    } else {
      const auto dets = det.detect({img.rgb}, {cv::Size(img.width, img.height)})[0];
      line["width"] = img.width;
      line["height"] = img.height;
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const Detection& x : dets)
        list.push_back({{"box", {x.box[0], x.box[1], x.box[2], x.box[3]}},
                        {"score", x.score},
                        {"class", x.cls},
                        {"label", det.spec().classes[static_cast<std::size_t>(x.cls)]}});
      line["detections"] = std::move(list);
    }
    std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  }
  std::fflush(stdout);
  if (failed) std::cerr << "pixelmill model detect: " << failed << " image(s) could not be decoded\n";
  return failed ? 1 : 0;
}

}  // namespace pm::app
