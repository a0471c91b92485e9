// NumPy .npy reader/writer (versions 1.0 and 2.0, little-endian, C order).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ops/op_registry.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

namespace pm::engine {

namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
constexpr NpyType kTypes[] = {{"<f4", DType::kF32}, {"|u1", DType::kU8}, {"|i1", DType::kI8},
                              {"<i4", DType::kI32}, {"<i8", DType::kI64}, {"|b1", DType::kBool},
                              {"<f8", DType::kF64}, {"<f2", DType::kF16}};

// Value of `key` in the header dict, as raw text up to the next top-level comma or brace.
std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
  auto k = h.find("'" + key + "'");
  if (k == std::string::npos) throw Error(path + ": .npy header lacks '" + key + "'");
  auto colon = h.find(':', k);
  if (colon == std::string::npos) throw Error(path + ": bad .npy header");
  std::size_t i = colon + 1;
  while (i < h.size() && h[i] == ' ') ++i;
  if (i < h.size() && h[i] == '(') {
    auto e = h.find(')', i);
    if (e == std::string::npos) throw Error(path + ": bad .npy shape");
    return h.substr(i, e - i + 1);
  }
  std::size_t e = i;
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  return h.substr(i, e - i);
}

// The largest array read: 2^34 elements (64 GiB of float32), far beyond any network input.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 34;

// The header's shape tuple, "(2, 3)", "(4,)" or "()": non-negative integers separated by
// commas. Anything else is refused, naming the text, instead of being half-read.
Dims parse_shape(const std::string& text, const std::string& path) {
  const auto bad = [&](const std::string& why) {
    return Error(path + ": .npy shape " + text + ": " + why);
  };
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    throw bad("not a tuple of integers");
  Dims shape;
  std::int64_t elements = 1;
  const std::string inner = text.substr(1, text.size() - 2);
  std::size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < inner.size() && std::isspace(static_cast<unsigned char>(inner[i]))) ++i;
  };
  skip_spaces();
  while (i < inner.size()) {
    const std::size_t start = i;
    while (i < inner.size() && std::isdigit(static_cast<unsigned char>(inner[i]))) ++i;
    const std::string digits = inner.substr(start, i - start);
    if (digits.empty()) throw bad("'" + inner.substr(start, 1) + "' where a dimension should be");
    // 18 digits always fit in int64; a longer number is no real dimension anyway.
    if (digits.size() > 18) throw bad("dimension " + digits + " has too many digits");
    const std::int64_t d = std::stoll(digits);
    if (i < inner.size() && inner[i] == 'L') ++i;  // written by Python 2
    if (d > 0 && elements > kMaxElements / d) throw bad("more than 2^34 elements");
    elements *= d;
    shape.push_back(d);
    skip_spaces();
    if (i == inner.size()) break;
    if (inner[i] != ',') throw bad("'" + inner.substr(i, 1) + "' after dimension " + digits);
    ++i;
    skip_spaces();
  }
  return shape;
}

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open " + path);
  char magic[8];
  f.read(magic, 8);
  if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw Error(path + ": not a .npy file");
  std::uint32_t hlen = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    f.read(reinterpret_cast<char*>(b), 4);
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24);
  }
  if (!f || hlen > (1u << 20)) throw Error(path + ": bad .npy header length");
  std::string h(hlen, '\0');
  f.read(h.data(), hlen);
  if (!f) throw Error(path + ": truncated .npy header");
  std::string descr = dict_value(h, "descr", path);
  descr.erase(std::remove(descr.begin(), descr.end(), '\''), descr.end());
  descr.erase(std::remove(descr.begin(), descr.end(), ' '), descr.end());
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  if (descr == "<u1" || descr == "<i1" || descr == "<b1") descr[0] = '|';
  DType dtype{};
  bool found = false;
  for (const auto& t : kTypes)
    if (descr == t.descr) {
      dtype = t.dtype;
      found = true;
    }
  if (!found) throw Error(path + ": .npy dtype '" + descr + "' is not supported");
  if (dict_value(h, "fortran_order", path).find("False") == std::string::npos)
    throw Error(path + ": Fortran-order .npy is not supported");
  const Dims shape = parse_shape(dict_value(h, "shape", path), path);
  // The data must be in the file before anything is allocated for it: a 100-byte file
  // whose header claims gigabytes is refused, not allocated (found by fuzzing).
  const std::streamoff data_at = f.tellg();
  f.seekg(0, std::ios::end);
  const std::streamoff data_bytes = f.tellg() - data_at;
  f.seekg(data_at);
  const std::int64_t want = checked_mul(dims_product(shape), static_cast<std::int64_t>(dtype_size(dtype)),
                                        ".npy data size");
  if (!f || data_bytes < want)
    throw Error(path + ": truncated .npy data (" + std::to_string(data_bytes) + " bytes for a " +
                dims_str(shape) + " array of " + std::to_string(want) + ")");
  Tensor t(dtype, shape);
  f.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  if (!f) throw Error(path + ": truncated .npy data");
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  const char* descr = nullptr;
  for (const auto& ty : kTypes)
    if (ty.dtype == t.dtype()) descr = ty.descr;
  if (!descr) throw Error("cannot write " + dtype_name(t.dtype()) + " to .npy");
  std::ostringstream h;
  h << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < t.shape().size(); ++i) h << t.shape()[i] << (t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  h << "), }";
  std::string header = h.str();
  // Pad so that the data starts on a 64-byte boundary, header ends in '\n'.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error("cannot write " + path);
  f.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char lb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(lb, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  if (!f) throw Error("error writing " + path);
}

std::vector<std::string> engine_supported_ops() {
  auto ops = supported_ops();
  ops.push_back("Constant");
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace pm::engine
