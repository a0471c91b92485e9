// Registration of engine-internal ops that exist only after the passes ran. pm.FusedConv is
// registered with Conv (conv.cc); this file holds the others as they are added.
#include "ops/op_registry.h"

namespace pm::engine {

void register_fused_ops(OpTable&) {}

}  // namespace pm::engine
