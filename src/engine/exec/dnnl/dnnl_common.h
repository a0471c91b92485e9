// Shared oneDNN objects: one CPU engine for the process (thread-safe in oneDNN), helpers.
#pragma once

#include <string>

#include <dnnl.hpp>

#include "graph/graph.h"

namespace pm::engine {

dnnl::engine& cpu_engine();
// The eltwise algorithm for a fused activation kind; false when oneDNN has none.
bool dnnl_eltwise_for(const std::string& kind, dnnl::algorithm& alg);

}  // namespace pm::engine
