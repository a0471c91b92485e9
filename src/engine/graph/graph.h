// The engine's IR: a topologically ordered list of nodes over named values.
// Values are referred to by name (ONNX style); constant values live in `constants`.
// An empty input name means "optional input not given".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pixelmill/engine.h"
#include "pixelmill/tensor.h"

namespace pm::engine {

struct Attr {
  enum class Kind : std::uint8_t { kInt, kFloat, kString, kInts, kFloats, kTensor, kOther };
  Kind kind = Kind::kOther;
  std::int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  Tensor t;
};

struct Node {
  std::string op;    // ONNX op_type, or an engine-internal fused op
  std::string name;  // node name (may be empty in ONNX; the loader fills one)
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, Attr> attrs;

  // Attribute accessors with defaults; throw pm::Error on a wrong kind.
  std::int64_t attr_i(const std::string& key, std::int64_t def) const;
  float attr_f(const std::string& key, float def) const;
  std::string attr_s(const std::string& key, const std::string& def) const;
  std::vector<std::int64_t> attr_ints(const std::string& key,
                                      const std::vector<std::int64_t>& def = {}) const;
  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  bool has_input(std::size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
  std::string label() const;  // "Conv 'name'" for messages
};

struct Graph {
  std::vector<ValueInfo> inputs;   // runtime inputs (initializers excluded)
  std::vector<ValueInfo> outputs;
  std::vector<Node> nodes;         // topological order
  std::map<std::string, Tensor> constants;  // initializers, Constant outputs, folded values
  int opset = 0;

  bool is_constant(const std::string& v) const { return constants.count(v) != 0; }
  const Tensor* constant(const std::string& v) const {
    auto it = constants.find(v);
    return it == constants.end() ? nullptr : &it->second;
  }
};

// Checks the invariants every pass must keep: each value defined exactly once (graph input,
// constant or node output) before it is used, graph outputs defined, ops known. Throws
// pm::Error naming `after` (the pass that ran last) and the offending node.
void validate(const Graph& g, const std::string& after);

// Number of uses of each value by nodes and graph outputs.
std::map<std::string, int> use_counts(const Graph& g);

// Index in g.nodes of the node that produces each value.
std::map<std::string, std::size_t> producers(const Graph& g);

// Removes the nodes whose flag is set, keeping the order of the others (fusion passes).
void drop_nodes(Graph& g, const std::vector<bool>& drop);

// Human-readable dump (one line per node) for --verbose and debugging.
std::string dump(const Graph& g);

}  // namespace pm::engine
