// onnx::TensorProto <-> pm::Tensor. Private to the engine (and its tests).
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "pixelmill/tensor.h"

namespace pm::engine {

// ONNX TensorProto data type code -> DType; throws pm::Error for types the engine lacks.
DType dtype_from_onnx(int onnx_type, const std::string& what);
int dtype_to_onnx(DType d);

// Reads the tensor's data from raw_data, the typed fields, or an external file relative to
// `base_dir` (offset/length honoured, bounds checked). `what` names it in errors.
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& what);

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto& p);

// Parses a serialized TensorProto file (the ONNX test-data format).
Tensor read_tensor_file(const std::string& path);

}  // namespace pm::engine
