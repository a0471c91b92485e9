// Every op the engine knows: its shape/dtype inference and its plain C++ reference kernel.
// The reference kernels are the test oracle and the `EngineOptions::reference` mode; they
// write into outputs already allocated with the shapes that `infer` returned.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace pm::engine {

// What is known about a value while planning: dtype and shape, and its contents when it is
// constant (initializer, folded value, or a Shape of a concrete tensor).
struct ValueType {
  DType dtype = DType::kF32;
  Dims shape;
  const Tensor* value = nullptr;
};

using InferFn = std::vector<ValueType> (*)(const Node& n, const std::vector<ValueType>& in);
using RefFn = void (*)(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out);

struct OpDef {
  const char* name;
  InferFn infer;
  RefFn ref;
  // Outputs alias/copy the first input bit for bit (Identity, Reshape, ...): the executor
  // may skip the copy.
  bool is_view = false;
  // The reference kernel reads input 0 as float32 (set by the registry for those ops).
  bool f32_only = false;
};

// The op's inference, after checking the dtypes its reference kernel accepts; use this
// rather than calling OpDef::infer directly.
std::vector<ValueType> infer_op(const Node& n, const std::vector<ValueType>& in);

const OpDef* find_op(const std::string& op);
std::vector<std::string> supported_ops();

// True when input `i` of `op` must be known when a plan is built (a shape, axes, pads,
// scales, ...). Graph inputs feeding such positions become part of the plan key.
bool input_needs_value(const std::string& op, std::size_t i);

// Registration, one function per op family file (explicit, so static linking keeps them).
struct OpTable;
void register_elementwise_ops(OpTable& t);
void register_cast_ops(OpTable& t);
void register_conv_ops(OpTable& t);
void register_pool_ops(OpTable& t);
void register_reduce_ops(OpTable& t);
void register_shape_ops(OpTable& t);
void register_gemm_ops(OpTable& t);
void register_norm_ops(OpTable& t);
void register_fused_ops(OpTable& t);
void register_pad_resize_ops(OpTable& t);
void register_misc_ops(OpTable& t);
void register_conv_transpose_ops(OpTable& t);
void register_quantize_ops(OpTable& t);
void register_qconv_ops(OpTable& t);
void register_qgemm_ops(OpTable& t);

struct OpTable {
  void add(OpDef def);
  std::vector<OpDef> defs;
};

}  // namespace pm::engine
