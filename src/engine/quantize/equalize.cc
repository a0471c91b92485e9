// Per-channel equalization of QdqModel (pixelmill/qdq.h): rescaling that changes nothing in
// real arithmetic and lets one quantization scale per tensor fit every channel.
#include <algorithm>
#include <cmath>
#include <map>

#include "pixelmill/error.h"
#include "quantize/qdq_model_impl.h"

namespace pm::engine {

namespace {

struct Pair {
  int first = -1;   // the producing Conv
  int second = -1;  // the consuming Conv
};

// The Conv -> [Relu] -> Conv pairs of the graph, by the activation the second one reads.
std::map<std::string, Pair> pairs(const onnx::GraphProto& g) {
  std::map<std::string, int> producer;
  std::map<std::string, int> readers;
  for (int i = 0; i < g.node_size(); ++i) {
    for (const auto& o : g.node(i).output()) producer[o] = i;
    for (const auto& in : g.node(i).input()) ++readers[in];
  }
  for (const auto& o : g.output()) readers[o.name()] += 2;  // a graph output is never rescaled
  auto only_reader = [&](const std::string& v) { return readers[v] == 1; };
  auto conv = [&](int i) {
    const auto& n = g.node(i);
    return n.op_type() == "Conv" && n.input_size() >= 2 && !n.input(0).empty();
  };
  std::map<std::string, Pair> out;
  for (int i = 0; i < g.node_size(); ++i) {
    if (!conv(i)) continue;
    const std::string& x = g.node(i).input(0);
    auto p = producer.find(x);
    if (p == producer.end() || !only_reader(x)) continue;
    int first = p->second;
    if (g.node(first).op_type() == "Relu") {
      const std::string& y = g.node(first).input(0);
      auto q = producer.find(y);
      if (q == producer.end() || !only_reader(y)) continue;
      first = q->second;
    }
    if (!conv(first)) continue;
    out[x] = {first, i};
  }
  return out;
}

std::string add_f32(QdqModel::Impl& m, const Tensor& t, const std::string& base) {
  const std::string name = m.fresh(base);
  *m.model.mutable_graph()->add_initializer() = make_tensor(t, name);
  return name;
}

}  // namespace

std::vector<std::string> QdqModel::equalizable() const {
  std::vector<std::string> out;
  const auto p = pairs(impl_->model.graph());
  for (const auto& a : impl_->activations)
    if (p.count(a)) {
      // Both weights constant and shaped as convolutions; biases 1-D.
      const auto& g = impl_->model.graph();
      const auto& pr = p.at(a);
      const Tensor w1 = impl_->constant_f32(g.node(pr.first).input(1));
      const Tensor w2 = impl_->constant_f32(g.node(pr.second).input(1));
      if (w1.empty() || w2.empty() || w1.shape().size() != 4 || w2.shape().size() != 4) continue;
      const auto& n1 = g.node(pr.first);
      if (n1.input_size() > 2 && !n1.input(2).empty() && impl_->constant_f32(n1.input(2)).empty()) continue;
      const std::int64_t channels = w1.shape()[0];
      const std::int64_t group = int_attr(g.node(pr.second), "group", 1);
      const bool depthwise = group == channels && w2.shape()[0] == channels && w2.shape()[1] == 1;
      if (!depthwise && (group != 1 || w2.shape()[1] != channels)) continue;
      out.push_back(a);
    }
  return out;
}

void QdqModel::equalize(const std::map<std::string, std::vector<float>>& channel_max) {
  Impl& m = *impl_;
  const auto eligible = equalizable();
  const auto p = pairs(m.model.graph());
  for (const auto& [activation, maxima] : channel_max) {
    if (std::find(eligible.begin(), eligible.end(), activation) == eligible.end())
      throw Error("equalize: activation '" + activation + "' cannot be rescaled per channel");
    auto* g = m.model.mutable_graph();
    auto& n1 = *g->mutable_node(p.at(activation).first);
    auto& n2 = *g->mutable_node(p.at(activation).second);
    Tensor w1 = m.constant_f32(n1.input(1)).clone();
    Tensor w2 = m.constant_f32(n2.input(1)).clone();
    const std::int64_t channels = w1.shape()[0];
    if (static_cast<std::int64_t>(maxima.size()) != channels)
      throw Error("equalize: " + std::to_string(maxima.size()) + " channel maxima for '" + activation + "', which has " +
                  std::to_string(channels) + " channels");
    const bool depthwise = int_attr(n2, "group", 1) == channels && channels > 1;
    const std::int64_t rows = w2.shape()[0];
    const std::int64_t per2 = w2.numel() / (rows * w2.shape()[1]);  // kh * kw
    const std::int64_t in2 = w2.shape()[1];
    // w_c: input channel c's largest |weight| relative to its output row's largest.
    std::vector<double> wrel(static_cast<std::size_t>(channels), 0.0);
    if (!depthwise)
      for (std::int64_t o = 0; o < rows; ++o) {
        const float* row = w2.ptr<float>() + o * in2 * per2;
        double top = 0;
        for (std::int64_t i = 0; i < in2 * per2; ++i) top = std::max(top, double(std::fabs(row[i])));
        if (top <= 0) continue;
        for (std::int64_t c = 0; c < in2; ++c)
          for (std::int64_t k = 0; k < per2; ++k)
            wrel[static_cast<std::size_t>(c)] =
                std::max(wrel[static_cast<std::size_t>(c)], std::fabs(row[c * per2 + k]) / top);
      }
    std::vector<double> s(static_cast<std::size_t>(channels), 1.0);
    double log_sum = 0;
    int live = 0;
    for (std::size_t c = 0; c < s.size(); ++c) {
      const double a = maxima[c];
      if (!(a > 0) || !std::isfinite(a)) continue;  // a dead channel stays as it is
      if (depthwise) s[c] = a;
      else if (wrel[c] > 0) s[c] = std::sqrt(a / wrel[c]);
      else continue;
      log_sum += std::log(s[c]);
      ++live;
    }
    if (live == 0) continue;
    // Centred on 1 (a common factor changes nothing), and within 1e-3..1e3 of it.
    const double centre = std::exp(log_sum / live);
    for (std::size_t c = 0; c < s.size(); ++c)
      if (maxima[c] > 0 && std::isfinite(maxima[c]) && (depthwise || wrel[c] > 0))
        s[c] = std::clamp(s[c] / centre, 1e-3, 1e3);
    const std::int64_t per1 = w1.numel() / channels;
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t k = 0; k < per1; ++k)
        w1.ptr<float>()[c * per1 + k] = static_cast<float>(w1.ptr<float>()[c * per1 + k] / s[static_cast<std::size_t>(c)]);
    for (std::int64_t o = 0; o < rows; ++o)
      for (std::int64_t c = 0; c < in2; ++c) {
        const double sc = s[static_cast<std::size_t>(depthwise ? o : c)];
        for (std::int64_t k = 0; k < per2; ++k) {
          float& v = w2.ptr<float>()[(o * in2 + c) * per2 + k];
          v = static_cast<float>(v * sc);
        }
      }
    n1.set_input(1, add_f32(m, w1, n1.input(1) + "_equalized"));
    n2.set_input(1, add_f32(m, w2, n2.input(1) + "_equalized"));
    if (n1.input_size() > 2 && !n1.input(2).empty()) {
      Tensor b = m.constant_f32(n1.input(2)).clone();
      for (std::int64_t c = 0; c < channels; ++c)
        b.ptr<float>()[c] = static_cast<float>(b.ptr<float>()[c] / s[static_cast<std::size_t>(c)]);
      n1.set_input(2, add_f32(m, b, n1.input(2) + "_equalized"));
    }
  }
}

}  // namespace pm::engine
