#include "ops/op_registry.h"

#include <algorithm>
#include <map>

namespace pm::engine {

void OpTable::add(OpDef def) { defs.push_back(def); }

namespace {
const std::map<std::string, OpDef>& table() {
  static const std::map<std::string, OpDef> t = [] {
    OpTable ops;
    register_elementwise_ops(ops);
    register_cast_ops(ops);
    register_conv_ops(ops);
    register_pool_ops(ops);
    register_reduce_ops(ops);
    register_shape_ops(ops);
    register_gemm_ops(ops);
    register_norm_ops(ops);
    register_fused_ops(ops);
    register_pad_resize_ops(ops);
    register_misc_ops(ops);
    register_conv_transpose_ops(ops);
    std::map<std::string, OpDef> m;
    for (const auto& d : ops.defs) m.emplace(d.name, d);
    return m;
  }();
  return t;
}
}  // namespace

const OpDef* find_op(const std::string& op) {
  auto it = table().find(op);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& [name, def] : table())
    if (name.rfind("pm.", 0) != 0) names.push_back(name);
  return names;
}

}  // namespace pm::engine
