#include "graph/graph.h"

#include <set>
#include <sstream>

#include "ops/op_registry.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {
const Attr* find_attr(const Node& n, const std::string& key, Attr::Kind kind) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) return nullptr;
  if (it->second.kind != kind)
    throw Error(n.label() + ": attribute '" + key + "' has an unexpected type");
  return &it->second;
}
}  // namespace

std::int64_t Node::attr_i(const std::string& key, std::int64_t def) const {
  const Attr* a = find_attr(*this, key, Attr::Kind::kInt);
  return a ? a->i : def;
}

float Node::attr_f(const std::string& key, float def) const {
  auto it = attrs.find(key);
  if (it != attrs.end() && it->second.kind == Attr::Kind::kInt) return float(it->second.i);
  const Attr* a = find_attr(*this, key, Attr::Kind::kFloat);
  return a ? a->f : def;
}

std::string Node::attr_s(const std::string& key, const std::string& def) const {
  const Attr* a = find_attr(*this, key, Attr::Kind::kString);
  return a ? a->s : def;
}

std::vector<std::int64_t> Node::attr_ints(const std::string& key,
                                          const std::vector<std::int64_t>& def) const {
  const Attr* a = find_attr(*this, key, Attr::Kind::kInts);
  return a ? a->ints : def;
}

std::string Node::label() const { return op + " node '" + name + "'"; }

void validate(const Graph& g, const std::string& after) {
  std::set<std::string> defined;
  auto fail = [&](const std::string& msg) {
    throw Error("invalid graph after " + after + ": " + msg);
  };
  for (const auto& in : g.inputs) {
    if (!defined.insert(in.name).second) fail("input '" + in.name + "' defined twice");
  }
  for (const auto& [name, t] : g.constants) {
    if (!defined.insert(name).second) fail("constant '" + name + "' is also a graph input");
  }
  for (const auto& n : g.nodes) {
    if (!find_op(n.op)) fail(n.label() + ": op not supported");
    for (const auto& v : n.inputs) {
      if (!v.empty() && !defined.count(v)) fail(n.label() + ": input '" + v + "' used before defined");
    }
    for (const auto& v : n.outputs) {
      if (v.empty()) continue;
      if (!defined.insert(v).second) fail(n.label() + ": output '" + v + "' defined twice");
    }
  }
  for (const auto& out : g.outputs) {
    if (!defined.count(out.name)) fail("graph output '" + out.name + "' is never produced");
  }
}

std::map<std::string, int> use_counts(const Graph& g) {
  std::map<std::string, int> uses;
  for (const auto& n : g.nodes)
    for (const auto& v : n.inputs)
      if (!v.empty()) ++uses[v];
  for (const auto& out : g.outputs) ++uses[out.name];
  return uses;
}

std::map<std::string, std::size_t> producers(const Graph& g) {
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& v : g.nodes[i].outputs) at[v] = i;
  return at;
}

void drop_nodes(Graph& g, const std::vector<bool>& drop) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

std::string dump(const Graph& g) {
  std::ostringstream os;
  for (const auto& in : g.inputs)
    os << "input " << in.name << " " << dtype_name(in.dtype) << dims_str(in.shape) << "\n";
  os << g.constants.size() << " constants\n";
  for (const auto& n : g.nodes) {
    os << n.op << " '" << n.name << "' (";
    for (std::size_t i = 0; i < n.inputs.size(); ++i) os << (i ? ", " : "") << n.inputs[i];
    os << ") -> (";
    for (std::size_t i = 0; i < n.outputs.size(); ++i) os << (i ? ", " : "") << n.outputs[i];
    os << ")\n";
  }
  for (const auto& out : g.outputs) os << "output " << out.name << "\n";
  return os.str();
}

}  // namespace pm::engine
