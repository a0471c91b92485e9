// Shared oneDNN objects: one CPU engine for the process (thread-safe in oneDNN), helpers.
#pragma once

#include <string>

#include <dnnl.hpp>

#include "graph/graph.h"

namespace pm::engine {

dnnl::engine& cpu_engine();
// Whether oneDNN runs bf16 natively here (AVX512_BF16 or AMX); bf16 is refused otherwise.
bool cpu_has_bf16();
// The eltwise algorithm for a fused activation kind; false when oneDNN has none.
bool dnnl_eltwise_for(const std::string& kind, dnnl::algorithm& alg);

}  // namespace pm::engine
