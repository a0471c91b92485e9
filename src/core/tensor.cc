#include "pixelmill/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "pixelmill/error.h"

namespace pm {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF16: return 2;
    case DType::kBF16: return 2;
    case DType::kU8: return 1;
    case DType::kI8: return 1;
    case DType::kI32: return 4;
    case DType::kI64: return 8;
    case DType::kBool: return 1;
    case DType::kF64: return 8;
  }
  return 0;
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "float32";
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
    case DType::kU8: return "uint8";
    case DType::kI8: return "int8";
    case DType::kI32: return "int32";
    case DType::kI64: return "int64";
    case DType::kBool: return "bool";
    case DType::kF64: return "float64";
  }
  return "?";
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    throw Error(std::string(what) + ": " + std::to_string(a) + " x " + std::to_string(b) +
                " overflows a 64-bit size");
  return r;
}

std::int64_t dims_product(const Dims& d) {
  std::int64_t n = 1;
  for (auto x : d) {
    if (__builtin_mul_overflow(n, x, &n))
      throw Error("shape " + dims_str(d) + " has more elements than a 64-bit size can count");
  }
  return n;
}

std::string dims_str(const Dims& d) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < d.size(); ++i) os << (i ? "," : "") << d[i];
  os << ']';
  return os.str();
}

Tensor::Tensor(DType dtype, Dims shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (auto x : shape_) PM_CHECK(x >= 0, "negative dimension in " + dims_str(shape_));
  const std::size_t bytes = static_cast<std::size_t>(
      checked_mul(numel(), static_cast<std::int64_t>(dtype_size(dtype_)), "tensor bytes"));
  std::size_t alloc = ((bytes + 63) / 64) * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  PM_CHECK(p != nullptr, "out of memory allocating " + std::to_string(alloc) + " bytes");
  std::memset(p, 0, alloc);
  data_ = std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

Tensor Tensor::borrow(DType dtype, Dims shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = std::shared_ptr<std::byte>(static_cast<std::byte*>(data), [](std::byte*) {});
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data(), data(), nbytes());
  return t;
}

Tensor Tensor::reshaped(Dims shape) const {
  PM_CHECK(dims_product(shape) == numel(),
           "reshape " + dims_str(shape_) + " to " + dims_str(shape) + " changes the size");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace pm
