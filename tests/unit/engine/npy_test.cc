#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

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

// A .npy file with `header` as its dict (v1.0, padded as NumPy pads) and no data.
void write_raw_npy(const std::string& path, std::string header) {
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  f.write(len, 2);
  f << header;
}

std::string read_error(const std::string& path) {
  try {
    read_npy(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, ABadShapeSaysWhatIsWrong) {
  const auto path = (std::filesystem::temp_directory_path() / ("pm_npy_shape_" + std::to_string(::getpid()) + ".npy")).string();
  const auto with_shape = [&](const std::string& shape) {
    write_raw_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }");
    return read_error(path);
  };
  // Used to escape as std::out_of_range("stoll"), which ended the job with MPI_Abort.
  std::string e = with_shape("(99999999999999999999999, 2)");
  EXPECT_NE(e.find("99999999999999999999999"), std::string::npos) << e;
  EXPECT_NE(e.find("too many digits"), std::string::npos) << e;
  e = with_shape("(2, x)");
  EXPECT_NE(e.find("'x' where a dimension should be"), std::string::npos) << e;
  e = with_shape("(2, -3)");  // used to read as (2, 3)
  EXPECT_NE(e.find("'-'"), std::string::npos) << e;
  e = with_shape("(4294967296, 4294967296)");
  EXPECT_NE(e.find("more than 2^34 elements"), std::string::npos) << e;
  // Python 2's long suffix and extra spaces are still read.
  write_raw_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': ( 1L , 2L ), }");
  std::ofstream(path, std::ios::binary | std::ios::app).write(std::string(8, '\0').data(), 8);
  EXPECT_EQ(read_npy(path).shape(), (Dims{1, 2}));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pm::engine
