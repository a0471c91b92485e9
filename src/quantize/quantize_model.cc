// quantize_model: calibrate, measure each layer's sensitivity, choose the layers kept fp32,
// write the QDQ model and its card (pixelmill/quantize.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "calibration_images.h"
#include "pixelmill/engine.h"
#include "pixelmill/error.h"
#include "pixelmill/quantize.h"
#include "pixelmill/sha256.h"

namespace pm {

namespace {

namespace fs = std::filesystem;
using engine::EngineOptions;
using engine::Model;
using engine::Session;

constexpr int kSensitivityImages = 16;  // check images each layer-alone run uses

void log(const QuantizeOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

void validate(const QuantizeOptions& o) {
  if (o.images < 1 || o.images > 100000) throw Error("--images must be in 1..100000");
  if (o.check_images < 4 || o.check_images > 100000)
    throw Error("--check-images must be in 4..100000 (the accuracy check needs a few images)");
  if (o.batch < 1 || o.batch > 256) throw Error("--batch must be in 1..256");
  if (!(o.percentile > 50 && o.percentile <= 100)) throw Error("--percentile must be in (50, 100]");
  if (!(o.target_cosine >= 0 && o.target_cosine <= 1)) throw Error("--target-cosine must be in [0, 1]");
  if (o.calibration.rfind("dir:", 0) != 0 && o.calibration.rfind("list:", 0) != 0)
    throw Error("--calibration must be dir:PATH or list:FILE, not '" + o.calibration + "'");
  if (o.output.size() < 6 || o.output.substr(o.output.size() - 5) != ".onnx")
    throw Error("--output must name an .onnx file (its card is written beside it, .json)");
}

// Row-wise cosines of two [n, d] float tensors.
std::vector<double> row_cosines(const Tensor& a, const Tensor& b) {
  const std::int64_t n = a.shape()[0], d = a.numel() / std::max<std::int64_t>(n, 1);
  std::vector<double> out;
  for (std::int64_t r = 0; r < n; ++r) {
    double ab = 0, aa = 0, bb = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const double x = a.ptr<float>()[r * d + k], y = b.ptr<float>()[r * d + k];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    out.push_back(aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0));
  }
  return out;
}

// numpy's default (linear) percentile of sorted values.
double percentile_of(const std::vector<double>& sorted, double q) {
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double f = pos - static_cast<double>(i);
  return i + 1 < sorted.size() ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

CosineStats stats_of(std::vector<double> c) {
  std::sort(c.begin(), c.end());
  CosineStats s;
  s.images = static_cast<int>(c.size());
  if (c.empty()) return s;
  s.median = percentile_of(c, 50);
  s.p01 = percentile_of(c, 1);
  s.min = c.front();
  return s;
}

// The check images' embeddings under one model.
class Checker {
 public:
  Checker(const std::vector<Tensor>& batches, int output, EngineOptions eo)
      : batches_(batches), output_(output), eo_(eo) {}

  std::vector<Tensor> embed(const std::shared_ptr<const Model>& m, std::size_t max_batches) const {
    Session s(m);
    std::vector<Tensor> out;
    for (std::size_t b = 0; b < batches_.size() && b < max_batches; ++b)
      out.push_back(s.run({batches_[b]})[static_cast<std::size_t>(output_)]);
    return out;
  }

  std::vector<double> cosines(const std::string& qdq, const std::vector<Tensor>& reference) const {
    EngineOptions eo = eo_;
    eo.precision = engine::Precision::kInt8;
    const auto got = embed(Model::load_bytes(qdq, ".", "the quantized model", eo), reference.size());
    std::vector<double> c;
    for (std::size_t b = 0; b < got.size(); ++b) {
      const auto part = row_cosines(reference[b], got[b]);
      c.insert(c.end(), part.begin(), part.end());
    }
    return c;
  }

 private:
  const std::vector<Tensor>& batches_;
  int output_;
  EngineOptions eo_;
};

// Each activation's range, and its pixels per image (H x W of an NCHW tensor, else 1).
std::map<std::string, engine::ActivationRange> calibrate(const engine::QdqModel& qm, const QuantizeOptions& o,
                                                         const std::vector<Tensor>& batches, EngineOptions eo,
                                                         std::map<std::string, std::int64_t>& pixels) {
  const auto observer = qm.observer(eo);
  const auto& acts = qm.activations();
  const std::size_t first = observer->outputs().size() - acts.size();
  std::vector<RangeObserver> obs(acts.size());
  Session s(observer);
  const int passes = obs.front().needs_histogram(o.method) ? 2 : 1;
  for (int pass = 0; pass < passes; ++pass)
    for (const auto& batch : batches) {
      const auto outs = s.run({batch});
      for (std::size_t a = 0; a < acts.size(); ++a) {
        const Tensor& t = outs[first + a];
        pixels[acts[a]] = t.shape().size() == 4 ? t.shape()[2] * t.shape()[3] : 1;
        if (pass == 0) obs[a].observe_extremes(t.ptr<float>(), t.numel());
        else obs[a].observe_histogram(t.ptr<float>(), t.numel());
      }
    }
  std::map<std::string, engine::ActivationRange> ranges;
  for (std::size_t a = 0; a < acts.size(); ++a) ranges[acts[a]] = obs[a].range(o.method, o.percentile);
  return ranges;
}

// Per-channel maxima (dim 1, NCHW) of the equalizable activations over the calibration images.
std::map<std::string, std::vector<float>> channel_maxima(const engine::QdqModel& qm, const std::vector<Tensor>& batches,
                                                         EngineOptions eo) {
  const auto wanted = qm.equalizable();
  std::map<std::string, std::vector<float>> out;
  if (wanted.empty()) return out;
  const auto observer = qm.observer(eo);
  const auto& acts = qm.activations();
  const std::size_t first = observer->outputs().size() - acts.size();
  Session s(observer);
  for (const auto& batch : batches) {
    const auto outs = s.run({batch});
    for (std::size_t a = 0; a < acts.size(); ++a) {
      if (std::find(wanted.begin(), wanted.end(), acts[a]) == wanted.end()) continue;
      const Tensor& t = outs[first + a];
      if (t.shape().size() < 2) continue;
      const std::int64_t n = t.shape()[0], c = t.shape()[1], inner = t.numel() / std::max<std::int64_t>(n * c, 1);
      auto& mx = out[acts[a]];
      mx.resize(static_cast<std::size_t>(c), 0.f);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t ch = 0; ch < c; ++ch) {
          const float* v = t.ptr<float>() + (i * c + ch) * inner;
          float& m = mx[static_cast<std::size_t>(ch)];
          for (std::int64_t k = 0; k < inner; ++k)
            if (std::isfinite(v[k])) m = std::max(m, std::fabs(v[k]));
        }
    }
  }
  return out;
}

bool meets(const CosineStats& s, double target) { return s.median >= target && s.p01 >= target; }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void write_file(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write " + tmp);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f.flush()) throw Error("cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

nlohmann::ordered_json stats_json(const CosineStats& s) {
  return {{"images", s.images}, {"median", s.median}, {"p01", s.p01}, {"min", s.min}};
}

// The int8 card: the fp32 card's preprocessing and embedding, the QDQ file's name and hash,
// and where it came from. The fp32 card's `source` (how setup fetches the fp32 file) and
// precision fields do not apply to it.
std::string int8_card(const ModelCard& card, const QuantizeOptions& o, const QuantizeResult& r,
                      const std::string& onnx_sha) {
  auto j = nlohmann::ordered_json::parse(card.raw_json);
  j["name"] = card.name + "_int8";
  j["description"] = card.description + " Post-training int8 (QDQ) quantization of " + card.file +
                     " by pixelmill model quantize.";
  j["file"] = fs::path(r.onnx_path).filename().string();
  j["sha256"] = onnx_sha;
  j.erase("source");
  j.erase("quantized");
  j.erase("precisions");
  nlohmann::ordered_json kept = nlohmann::ordered_json::array();
  for (const auto& l : r.layers)
    if (!l.quantized) kept.push_back(l.target.node);
  j["quantization"] = {{"from", {{"file", card.file}, {"sha256", card.sha256}}},
                       {"method", calibration_method_name(o.method)},
                       {"equalized", r.equalized},
                       {"images", r.calibration_images},
                       {"calibration_sha256", r.calibration_sha256},
                       {"kept_fp32", kept},
                       {"cosine", stats_json(r.written)}};
  return j.dump(2) + "\n";
}

}  // namespace

QuantizeResult quantize_model(const QuantizeOptions& o) {
  validate(o);
  ModelFiles files = resolve_model(o.model);
  const ModelCard& card = files.card;
  if (card.detector) throw Error("quantize takes an embedding model's card; " + o.model + " is a detector's");
  verify_model_file(card, files.onnx);
  if (fs::exists(o.output) && fs::equivalent(o.output, files.onnx))
    throw Error("--output " + o.output + " is the fp32 model itself");
  const std::string card_out = o.output.substr(0, o.output.size() - 5) + ".json";
  if (fs::exists(card_out) && fs::equivalent(card_out, card.path))
    throw Error("--output " + o.output + " would overwrite the fp32 card " + card.path);

  engine::QdqModel qm(files.onnx);
  const auto& targets = qm.targets();
  for (const auto& k : o.keep_fp32)
    if (std::none_of(targets.begin(), targets.end(), [&](const engine::QuantTarget& t) { return t.node == k; }))
      throw Error("--keep-fp32: no quantizable node '" + k + "' (Conv, Gemm or MatMul with constant weights) in " +
                  files.onnx);
  std::vector<bool> forced(targets.size(), false);
  for (std::size_t t = 0; t < targets.size(); ++t)
    forced[t] = std::find(o.keep_fp32.begin(), o.keep_fp32.end(), targets[t].node) != o.keep_fp32.end();
  if (std::all_of(forced.begin(), forced.end(), [](bool f) { return f; }))
    throw Error("--keep-fp32 leaves no layer to quantize");

  EngineOptions eo;
  eo.threads = o.threads;
  const auto fp32 = Model::load(files.onnx, eo);
  int output = -1;
  for (std::size_t i = 0; i < fp32->outputs().size(); ++i)
    if (fp32->outputs()[i].name == card.embedding.output) output = static_cast<int>(i);
  if (output < 0) throw Error(files.onnx + " has no output '" + card.embedding.output + "' named by its card");

  log(o, "reading " + std::to_string(o.images) + " calibration and " + std::to_string(o.check_images) +
             " check images from " + o.calibration);
  const auto images = quantize::load_calibration_images(card, o);
  QuantizeResult r;
  r.onnx_path = o.output;
  r.card_path = card_out;
  r.calibration_sha256 = images.sha256;
  r.calibration_images = images.calibration_count;

  if (o.equalize) {
    const auto maxima = channel_maxima(qm, images.calibration, eo);
    qm.equalize(maxima);
    r.equalized = static_cast<int>(maxima.size());
    log(o, "equalized the channels of " + std::to_string(r.equalized) + " activations between convolutions");
  }
  log(o, std::string("calibrating ") + std::to_string(qm.activations().size()) + " activations (" +
             calibration_method_name(o.method) + ")");
  std::map<std::string, std::int64_t> pixels;
  const auto ranges = calibrate(qm, o, images.calibration, eo, pixels);

  const Checker checker(images.check, output, eo);
  const auto reference = checker.embed(fp32, images.check.size());
  const std::size_t few = static_cast<std::size_t>((kSensitivityImages + o.batch - 1) / o.batch);
  const std::vector<Tensor> few_reference(reference.begin(), reference.begin() + static_cast<std::ptrdiff_t>(
                                                                 std::min(few, reference.size())));

  log(o, "measuring each of " + std::to_string(targets.size()) + " layers alone");
  r.layers.resize(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    r.layers[t].target = targets[t];
    if (forced[t]) continue;
    std::vector<bool> one(targets.size(), false);
    one[t] = true;
    const auto c = checker.cosines(qm.qdq_bytes(ranges, one), few_reference);
    r.layers[t].mean_cosine = std::accumulate(c.begin(), c.end(), 0.0) / static_cast<double>(c.size());
  }

  // Most sensitive first; keeping the first k of them fp32 is the candidate k.
  std::vector<std::size_t> order;
  for (std::size_t t = 0; t < targets.size(); ++t)
    if (!forced[t]) order.push_back(t);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return r.layers[a].mean_cosine < r.layers[b].mean_cosine; });
  auto flags_for = [&](std::size_t k) {
    std::vector<bool> q(targets.size(), false);
    for (std::size_t i = k; i < order.size(); ++i) q[order[i]] = true;
    return q;
  };
  std::map<std::vector<bool>, CosineStats> tried;
  auto evaluate = [&](const std::vector<bool>& flags) {
    if (!tried.count(flags)) {
      const auto s = stats_of(checker.cosines(qm.qdq_bytes(ranges, flags), reference));
      tried[flags] = s;
      log(o, "  " + std::to_string(std::count(flags.begin(), flags.end(), true)) + " layers int8: median cosine " +
                 fmt("%.5f", s.median) + ", 1st percentile " + fmt("%.5f", s.p01));
    }
    return tried[flags];
  };
  r.all_quantized = evaluate(flags_for(0));
  std::vector<bool> flags = flags_for(0);
  if (o.target_cosine > 0 && !meets(r.all_quantized, o.target_cosine)) {
    // The smallest k that meets the target, by bisection (cosine grows with k, nearly
    // monotonically: each step returns one more layer to fp32); the answer is measured.
    std::size_t lo = 1, hi = order.size();
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (meets(evaluate(flags_for(mid)), o.target_cosine)) hi = mid;
      else lo = mid + 1;
    }
    std::size_t k = lo;
    while (k < order.size() && !meets(evaluate(flags_for(k)), o.target_cosine)) ++k;  // bisection was fooled
    if (k >= order.size())
      throw Error("no layer can be int8 with a median and 1st-percentile cosine of " + fmt("%.4f", o.target_cosine) +
                  " to fp32 on the check images; lower --target-cosine (every layer int8 gives " +
                  fmt("%.4f", r.all_quantized.median) + " / " + fmt("%.4f", r.all_quantized.p01) + ")");
    flags = flags_for(k);
    // Then each layer kept fp32 goes back to int8 if the target still holds without it,
    // the costliest first (multiply-adds per image): a layer that is sensitive alone may
    // not be in the company of the others, and the costly ones are what int8 is for.
    std::vector<std::size_t> kept(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
    auto macs = [&](std::size_t t) {
      return targets[t].weights * pixels[targets[t].activation] / std::max<std::int64_t>(targets[t].stride, 1);
    };
    std::stable_sort(kept.begin(), kept.end(), [&](std::size_t a, std::size_t b) { return macs(a) > macs(b); });
    for (const std::size_t t : kept) {
      flags[t] = true;
      if (!meets(evaluate(flags), o.target_cosine)) flags[t] = false;
    }
  }
  r.written = evaluate(flags);
  for (std::size_t t = 0; t < targets.size(); ++t) r.layers[t].quantized = flags[t];

  const std::string bytes = qm.qdq_bytes(ranges, flags);
  write_file(o.output, bytes);
  write_file(card_out, int8_card(card, o, r, sha256_hex(bytes)));
  return r;
}

}  // namespace pm
