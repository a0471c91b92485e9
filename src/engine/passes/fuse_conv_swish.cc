// Swish-family activations written as several ops, fused into the convolution before them
// as one oneDNN eltwise post-op (like fuse_conv_activation for single-op activations):
//   SiLU       c -> Sigmoid(c) -> Mul(c, s)                       activation "Swish" (alpha 1)
//   HardSwish  c -> Add(c, 3) -> Clip(0, 6) -> Mul(c, clip) -> Div(6)   activation "HardSwish"
// (YOLOX exports SiLU so; Paddle's exporter writes HardSwish so, PP-PicoDet has 94 of them.)
// Each intermediate value must be used only inside the pattern, and c by exactly its two
// uses in it. The fused node takes the place of the pattern's last node. Convolutions that
// oneDNN runs as Winograd are left alone: its Winograd takes no swish post-op.
#include <cmath>
#include <optional>
#include <set>

#include "passes/passes.h"

namespace pm::engine {

namespace {

bool is_conv(const Node& n) { return n.op == "Conv" || n.op == "pm.FusedConv" || n.op == "pm.QConv"; }

// The value of a one-element float32 constant, or NaN.
float scalar(const Graph& g, const std::string& name) {
  const Tensor* t = g.constant(name);
  if (!t || t->dtype() != DType::kF32 || t->numel() != 1) return NAN;
  return t->ptr<float>()[0];
}

// The other operand of a two-input node, when one operand is `v`; "" otherwise.
std::string other(const Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return "";
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return "";
}

// A 3x3 stride-1 dense fp32 convolution that oneDNN runs as Winograd when it has no
// post-op it cannot take (swish is one).
bool winograd_candidate(const Graph& g, const Node& conv, const PassContext& ctx) {
  if (conv.op == "pm.QConv" || ctx.options.conv_algorithm != ConvAlgorithm::kAuto ||
      ctx.options.precision != Precision::kF32)
    return false;
  const Tensor* w = g.constant(conv.inputs[1]);
  if (!w || w->shape().size() != 4 || w->shape()[2] != 3 || w->shape()[3] != 3) return false;
  if (conv.attr_i("group", 1) != 1) return false;
  for (std::int64_t v : conv.attr_ints("strides")) if (v != 1) return false;
  for (std::int64_t v : conv.attr_ints("dilations")) if (v != 1) return false;
  return true;
}

struct Fusion {
  std::size_t conv;
  std::vector<std::size_t> inner;  // nodes between conv and the last, dropped
  const char* kind;
  float alpha;
};

}  // namespace

void fuse_conv_swish(Graph& g, const PassContext& ctx) {
  (void)ctx;
  auto uses = use_counts(g);
  const auto producer = producers(g);
  std::vector<bool> taken(g.nodes.size(), false);
  const auto made_by = [&](const std::string& v, const char* op) -> long {
    const auto it = producer.find(v);
    if (it == producer.end() || taken[it->second] || g.nodes[it->second].op != op) return -1;
    return static_cast<long>(it->second);
  };
  const auto conv_of = [&](const std::string& c) -> long {
    const auto it = producer.find(c);
    if (it == producer.end() || taken[it->second]) return -1;
    const Node& conv = g.nodes[it->second];
    if (!is_conv(conv) || conv.has_attr("activation") || uses[c] != 2) return -1;
    // Winograd with the activation as its own op beats direct with it fused (YOLOX-tiny,
    // 1 thread: 17.0 against 14.7 img/s): leave those to Winograd.
    if (winograd_candidate(g, conv, ctx)) return -1;
    return static_cast<long>(it->second);
  };
  std::vector<bool> drop(g.nodes.size(), false);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& last = g.nodes[i];
    std::optional<Fusion> f;
    if (last.op == "Mul" && last.inputs.size() == 2) {
      // SiLU: Mul(c, Sigmoid(c)).
      for (int side = 0; side < 2 && !f; ++side) {
        const long s = made_by(last.inputs[side], "Sigmoid");
        if (s < 0 || uses[last.inputs[side]] != 1) continue;
        const std::string& c = g.nodes[static_cast<std::size_t>(s)].inputs[0];
        if (last.inputs[1 - side] != c) continue;
        const long conv = conv_of(c);
        if (conv >= 0) f = Fusion{static_cast<std::size_t>(conv), {static_cast<std::size_t>(s)}, "Swish", 1.f};
      }
    } else if (last.op == "Div" && last.inputs.size() == 2 && scalar(g, last.inputs[1]) == 6.f) {
      // HardSwish: Div(Mul(c, Clip(Add(c, 3), 0, 6)), 6).
      const long mul = made_by(last.inputs[0], "Mul");
      if (mul < 0 || uses[last.inputs[0]] != 1) continue;
      const Node& m = g.nodes[static_cast<std::size_t>(mul)];
      for (int side = 0; side < 2 && !f; ++side) {
        const long clip = made_by(m.inputs[side], "Clip");
        if (clip < 0 || uses[m.inputs[side]] != 1) continue;
        const Node& cl = g.nodes[static_cast<std::size_t>(clip)];
        if (!cl.has_input(1) || !cl.has_input(2) || scalar(g, cl.inputs[1]) != 0.f || scalar(g, cl.inputs[2]) != 6.f)
          continue;
        const long add = made_by(cl.inputs[0], "Add");
        if (add < 0 || uses[cl.inputs[0]] != 1) continue;
        const std::string& c = m.inputs[1 - side];
        if (scalar(g, other(g.nodes[static_cast<std::size_t>(add)], c)) != 3.f) continue;
        const long conv = conv_of(c);
        if (conv >= 0)
          f = Fusion{static_cast<std::size_t>(conv),
                     {static_cast<std::size_t>(add), static_cast<std::size_t>(clip), static_cast<std::size_t>(mul)},
                     "HardSwish", 0.f};
      }
    }
    if (!f) continue;
    const Node& conv = g.nodes[f->conv];
    Node fused = conv;
    if (conv.op != "pm.QConv") fused.op = "pm.FusedConv";
    Attr kind, alpha, beta;
    kind.kind = Attr::Kind::kString;
    kind.s = f->kind;
    alpha.kind = beta.kind = Attr::Kind::kFloat;
    alpha.f = f->alpha;
    fused.attrs["activation"] = kind;
    fused.attrs["activation_alpha"] = alpha;
    fused.attrs["activation_beta"] = beta;
    fused.outputs = last.outputs;
    drop[f->conv] = taken[f->conv] = true;
    for (std::size_t k : f->inner) drop[k] = taken[k] = true;
    last = fused;
    taken[i] = true;
  }
  drop_nodes(g, drop);
}

}  // namespace pm::engine
