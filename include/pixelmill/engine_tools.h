// Engine utilities used by `pixelmill model` and by tests of other modules: the generated
// test model, .npy files, and the list of supported ops.
#pragma once

#include "pixelmill/sha256.h"  // pm::sha256_hex, for model cards

#include <string>
#include <vector>

#include "pixelmill/tensor.h"

namespace pm::engine {

// Writes DIR/tiny_embed.onnx and DIR/tiny_embed.json (its model card): a small CNN with
// fixed-seed weights, input `input` float32 NCHW [batch,3,64,64], output `embedding`
// [batch,32]. Same bytes on every call and machine. Returns the .onnx path.
std::string write_tiny_embed(const std::string& dir);
// The serialized ONNX model alone.
std::string tiny_embed_onnx_bytes();

// NumPy .npy (format 1.0/2.0, little-endian, C order) for the dtypes of pm::DType
// (float16/bfloat16 excepted). Throw pm::Error on a bad file.
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& t);

// ONNX op types the engine runs.
std::vector<std::string> engine_supported_ops();

// Whether this CPU runs bf16 natively (AVX512_BF16 or AMX). Precision::kBF16 falls back
// to fp32 (with a warning) where it does not.
bool engine_has_bf16();

// Whether this CPU has VNNI (AVX512_VNNI, AVX_VNNI or AMX), which Precision::kInt8 needs;
// without it a QDQ model runs as written, in fp32 (with a warning).
bool engine_has_int8();

}  // namespace pm::engine
