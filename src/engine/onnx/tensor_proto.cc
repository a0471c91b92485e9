#include "onnx/tensor_proto.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "pixelmill/error.h"

namespace pm::engine {

DType dtype_from_onnx(int t, const std::string& what) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return DType::kF32;
    case onnx::TensorProto::UINT8: return DType::kU8;
    case onnx::TensorProto::INT8: return DType::kI8;
    case onnx::TensorProto::INT32: return DType::kI32;
    case onnx::TensorProto::INT64: return DType::kI64;
    case onnx::TensorProto::BOOL: return DType::kBool;
    case onnx::TensorProto::FLOAT16: return DType::kF16;
    case onnx::TensorProto::BFLOAT16: return DType::kBF16;
    case onnx::TensorProto::DOUBLE: return DType::kF64;
    default: throw Error(what + ": ONNX data type " + std::to_string(t) + " is not supported");
  }
}

int dtype_to_onnx(DType d) {
  switch (d) {
    case DType::kF32: return onnx::TensorProto::FLOAT;
    case DType::kU8: return onnx::TensorProto::UINT8;
    case DType::kI8: return onnx::TensorProto::INT8;
    case DType::kI32: return onnx::TensorProto::INT32;
    case DType::kI64: return onnx::TensorProto::INT64;
    case DType::kBool: return onnx::TensorProto::BOOL;
    case DType::kF16: return onnx::TensorProto::FLOAT16;
    case DType::kBF16: return onnx::TensorProto::BFLOAT16;
    case DType::kF64: return onnx::TensorProto::DOUBLE;
  }
  return 0;
}

namespace {

// An external_data integer ("offset", "length"): digits only, no overflow.
std::int64_t external_number(const std::string& text, const std::string& what, const char* key) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Error(what + ": external data " + key + " '" + text + "' is not a number");
  return std::stoll(text);
}

struct ExternalData {
  std::string path;
  std::int64_t offset = 0;
};

// Where an external tensor's `need` bytes are; checked before anything is allocated for
// them, so a model cannot claim gigabytes that its data file does not hold.
ExternalData locate_external(const onnx::TensorProto& p, const std::string& base_dir,
                             const std::string& what, std::int64_t need) {
  std::string location;
  std::int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = external_number(kv.value(), what, "offset");
    else if (kv.key() == "length") length = external_number(kv.value(), what, "length");
  }
  if (location.empty() || location.find("..") != std::string::npos || location[0] == '/')
    throw Error(what + ": external data location '" + location + "' is missing or leaves the model directory");
  const std::string path = base_dir.empty() ? location : base_dir + "/" + location;
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(what + ": cannot open external data file " + path);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::int64_t>(f.tellg());
  if (length >= 0 && length != need)
    throw Error(what + ": external data length " + std::to_string(length) + " != " + std::to_string(need));
  if (offset > size || need > size - offset) throw Error(what + ": external data out of range in " + path);
  return {path, offset};
}

// The count of values a typed field must hold, by dtype (where the values are when the
// tensor has no raw_data).
int typed_values(const onnx::TensorProto& p, DType dt) {
  switch (dt) {
    case DType::kF32: return p.float_data_size();
    case DType::kF64: return p.double_data_size();
    case DType::kI64: return p.int64_data_size();
    default: return p.int32_data_size();
  }
}

template <class Field, class T>
void copy_field(const Field& field, Tensor& t, const std::string& what) {
  if (static_cast<std::int64_t>(field.size()) != t.numel())
    throw Error(what + ": has " + std::to_string(field.size()) + " values, shape wants " + std::to_string(t.numel()));
  T* d = t.ptr<T>();
  for (int i = 0; i < field.size(); ++i) d[i] = static_cast<T>(field.Get(i));
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& what) {
  if (p.segment().begin() || p.segment().end()) throw Error(what + ": segmented tensors are not supported");
  DType dt = dtype_from_onnx(p.data_type(), what);
  Dims shape(p.dims().begin(), p.dims().end());
  for (auto d : shape)
    if (d < 0 || d > (std::int64_t(1) << 40)) throw Error(what + ": bad dimension " + std::to_string(d));
  const std::int64_t count = dims_product(shape);
  if (count > (std::int64_t(1) << 34)) throw Error(what + ": tensor too large");
  const std::int64_t bytes = count * static_cast<std::int64_t>(dtype_size(dt));
  // The data must be there before anything is allocated for it (fuzzing found a model whose
  // dims claimed 12 GB with no data behind them).
  ExternalData external;
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    external = locate_external(p, base_dir, what, bytes);
  } else if (p.has_raw_data()) {
    if (static_cast<std::int64_t>(p.raw_data().size()) != bytes)
      throw Error(what + ": raw_data has " + std::to_string(p.raw_data().size()) + " bytes, shape " +
                  dims_str(shape) + " wants " + std::to_string(bytes));
  } else if (typed_values(p, dt) != count) {
    throw Error(what + ": has " + std::to_string(typed_values(p, dt)) + " values, shape " +
                dims_str(shape) + " wants " + std::to_string(count));
  }
  Tensor t(dt, shape);
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::ifstream f(external.path, std::ios::binary);
    f.seekg(external.offset);
    f.read(static_cast<char*>(t.data()), bytes);
    if (!f) throw Error(what + ": short read from " + external.path);
  } else if (p.has_raw_data()) {
    if (t.nbytes()) std::memcpy(t.data(), p.raw_data().data(), t.nbytes());
  } else {
    switch (dt) {
      case DType::kF32: copy_field<decltype(p.float_data()), float>(p.float_data(), t, what); break;
      case DType::kF64: copy_field<decltype(p.double_data()), double>(p.double_data(), t, what); break;
      case DType::kI64: copy_field<decltype(p.int64_data()), std::int64_t>(p.int64_data(), t, what); break;
      case DType::kI32: copy_field<decltype(p.int32_data()), std::int32_t>(p.int32_data(), t, what); break;
      case DType::kI8: copy_field<decltype(p.int32_data()), std::int8_t>(p.int32_data(), t, what); break;
      case DType::kU8: case DType::kBool: copy_field<decltype(p.int32_data()), std::uint8_t>(p.int32_data(), t, what); break;
      case DType::kF16: case DType::kBF16: copy_field<decltype(p.int32_data()), std::uint16_t>(p.int32_data(), t, what); break;
    }
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto& p) {
  p.set_name(name);
  p.set_data_type(dtype_to_onnx(t.dtype()));
  for (auto d : t.shape()) p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char*>(t.data()), t.nbytes()));
}

Tensor read_tensor_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  onnx::TensorProto p;
  if (!p.ParseFromString(ss.str())) throw Error(path + ": not a TensorProto");
  return tensor_from_proto(p, "", path);
}

}  // namespace pm::engine
