// A dense tensor: dtype, shape, and an owned (or borrowed) 64-byte-aligned buffer.
// Row-major ("plain") layout. Copying a Tensor shares the buffer; use clone() for a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pm {

enum class DType : std::uint8_t { kF32, kF16, kBF16, kU8, kI8, kI32, kI64, kBool, kF64 };

std::size_t dtype_size(DType t);
std::string dtype_name(DType t);

using Dims = std::vector<std::int64_t>;
// The product of the dims. Shapes come from untrusted files (ONNX, .npy), so it is checked:
// throws pm::Error when it overflows int64 (a wrapped product once made [2^32, 2^32] count
// as 0 elements and a 64-byte buffer stand for 16 GiB). A -1 (dynamic) dim makes it negative.
std::int64_t dims_product(const Dims& d);
// a * b for sizes; throws pm::Error naming `what` when it overflows int64.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what);
std::string dims_str(const Dims& d);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Dims shape);                       // allocates, zero-filled
  static Tensor borrow(DType dtype, Dims shape, void* data);  // does not own data

  DType dtype() const { return dtype_; }
  const Dims& shape() const { return shape_; }
  std::int64_t numel() const { return dims_product(shape_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr; }

  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  template <class T> T* ptr() { return static_cast<T*>(data()); }
  template <class T> const T* ptr() const { return static_cast<const T*>(data()); }

  Tensor clone() const;
  // Same buffer, new shape with the same element count.
  Tensor reshaped(Dims shape) const;

 private:
  DType dtype_ = DType::kF32;
  Dims shape_;
  std::shared_ptr<std::byte> data_;
};

}  // namespace pm
