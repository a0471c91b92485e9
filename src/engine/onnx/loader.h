// ONNX file -> engine Graph. Checks the opset (11..18), converts initializers (including
// external data) and Constant nodes to constants, and rejects unknown ops naming op and node.
#pragma once

#include <string>

#include "graph/graph.h"

namespace pm::engine {

Graph load_onnx(const std::string& path);
// The same from bytes already in memory; `base_dir` resolves external data.
Graph load_onnx_bytes(const std::string& bytes, const std::string& base_dir, const std::string& what);

}  // namespace pm::engine
