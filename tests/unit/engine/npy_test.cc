#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {
namespace {

TEST(Npy, RoundTripsEveryDtype) {
  const auto path = (std::filesystem::temp_directory_path() / ("pm_npy_" + std::to_string(::getpid()) + ".npy")).string();
  for (DType dt : {DType::kF32, DType::kU8, DType::kI64, DType::kI32, DType::kF64, DType::kBool}) {
    Tensor t(dt, {2, 3, 5});
    auto* p = static_cast<unsigned char*>(t.data());
    for (std::size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(dt == DType::kBool ? i % 2 : i * 7);
    write_npy(path, t);
    Tensor r = read_npy(path);
    EXPECT_EQ(r.dtype(), dt);
    EXPECT_EQ(r.shape(), t.shape());
    EXPECT_EQ(0, std::memcmp(r.data(), t.data(), t.nbytes()));
  }
  Tensor scalar(DType::kF32, {});
  write_npy(path, scalar);
  EXPECT_EQ(read_npy(path).shape(), Dims{});
  Tensor vec(DType::kF32, {4});
  write_npy(path, vec);
  EXPECT_EQ(read_npy(path).shape(), Dims{4});
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "not numpy";
  }
  EXPECT_THROW(read_npy(path), Error);
  std::filesystem::remove(path);
}

// A 128-byte .npy whose shape's element count overflows is an error, not a 0-element
// array (which `model run` then read 16 GiB past).
TEST(Npy, ShapeWhoseSizeOverflowsIsRefused) {
  const auto path = (std::filesystem::temp_directory_path() / ("pm_npy_huge_" + std::to_string(::getpid()) + ".npy")).string();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "\x93NUMPY" << '\x01' << '\x00';
    f.put(static_cast<char>(header.size() & 0xFF));
    f.put(static_cast<char>(header.size() >> 8));
    f << header << std::string(16, '\0');
  }
  EXPECT_THROW(read_npy(path), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pm::engine
