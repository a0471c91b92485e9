// pm::h5::RunFile: opening, checked datasets and attributes, and the /images layout.
#include "run_file.h"

#include <array>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_structure.h"
#include "pixelmill/error.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/status.h"

namespace pm::h5 {

namespace {

struct ElementInfo {
  H5T_class_t type_class;
  std::size_t size;
  H5T_sign_t sign;  // integers only
  const char* name;
};

ElementInfo info(Element e) {
  switch (e) {
    case Element::kU8: return {H5T_INTEGER, 1, H5T_SGN_NONE, "uint8"};
    case Element::kU32: return {H5T_INTEGER, 4, H5T_SGN_NONE, "uint32"};
    case Element::kU64: return {H5T_INTEGER, 8, H5T_SGN_NONE, "uint64"};
    case Element::kI32: return {H5T_INTEGER, 4, H5T_SGN_2, "int32"};
    case Element::kI64: return {H5T_INTEGER, 8, H5T_SGN_2, "int64"};
    case Element::kF32: return {H5T_FLOAT, 4, H5T_SGN_ERROR, "float32"};
    case Element::kErrorText: break;
  }
  return {H5T_STRING, layout::kErrorLength, H5T_SGN_ERROR, "fixed-length string of 160 bytes"};
}

bool matches(hid_t type, Element e) {
  const ElementInfo want = info(e);
  if (H5Tget_class(type) != want.type_class || H5Tget_size(type) != want.size) return false;
  if (want.type_class == H5T_INTEGER) return H5Tget_sign(type) == want.sign;
  if (want.type_class == H5T_STRING) return H5Tis_variable_str(type) == 0;
  return true;
}

std::string describe_type(hid_t type) {
  const std::size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_STRING:
      if (H5Tis_variable_str(type) > 0) return "variable-length string";
      return "fixed-length string of " + std::to_string(bits / 8) + " bytes";
    default:
      return "a type of another class";
  }
}

std::string dims_text(int rank, const hsize_t* dims) {
  std::string out = "[";
  for (int i = 0; i < rank; ++i) {
    if (i > 0) out += ", ";
    out += dims[i] == RunFile::kAny ? "*" : std::to_string(dims[i]);
  }
  return out + "]";
}

}  // namespace

RunFile::RunFile(const std::string& path) : path_(path), file_(open_read_only(path)) {
  // Every object is loaded once here (h5_structure.h), so that damage is reported as the
  // file's, and nothing reads a file whose storage pixelmill does not write.
  try {
    check_structure(file_.get());
  } catch (const Error& e) {
    throw Error(where("") + "is damaged or not a pixelmill run file (" + e.what() + ")");
  }
}

std::string RunFile::where(const std::string& object) const { return "'" + path_ + "' " + object; }

void RunFile::fail(const std::string& object, const std::string& what) const {
  throw Error(where(object) + ": " + what);
}

bool RunFile::has(const std::string& object) const {
  // H5Lexists on "/a/b" fails when "/a" is missing: look up each link on the way.
  std::size_t pos = 1;
  while (pos <= object.size()) {
    const std::size_t next = object.find('/', pos);
    if (!exists(file_.get(), object.substr(0, next).c_str())) return false;
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return true;
}

Column RunFile::column(const char* dataset, Element type, int rank, hsize_t rows,
                       hsize_t cols) const {
  Column c;
  c.name = dataset;
  c.dataset = own_dataset(H5Dopen2(file_.get(), dataset, H5P_DEFAULT), where(dataset) + ": opening");
  Handle file_type = own_type(H5Dget_type(c.dataset.get()), where(dataset) + ": H5Dget_type");
  Handle space = own_space(H5Dget_space(c.dataset.get()), where(dataset) + ": H5Dget_space");
  const int found_rank = H5Sget_simple_extent_type(space.get()) == H5S_SIMPLE
                             ? H5Sget_simple_extent_ndims(space.get())
                             : 0;
  std::array<hsize_t, H5S_MAX_RANK> dims{};
  if (found_rank > 0)
    check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), where(dataset) + ": dims");
  const hsize_t want[2] = {rows, cols};
  bool ok = matches(file_type.get(), type) && found_rank == rank;
  for (int i = 0; ok && i < rank; ++i) ok = want[i] == kAny || want[i] == dims[static_cast<std::size_t>(i)];
  if (!ok)
    fail(dataset, std::string("expected ") + info(type).name + " " + dims_text(rank, want) +
                      ", found " + describe_type(file_type.get()) + " " +
                      (found_rank > 0 ? dims_text(found_rank, dims.data()) : "without dimensions"));
  c.rows = dims[0];
  c.cols = rank == 2 ? dims[1] : 0;
  return c;
}

void RunFile::check_range(const Column& c, hsize_t first, hsize_t count) const {
  if (first > c.rows || count > c.rows - first)
    fail(c.name, "rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                     ") asked of " + std::to_string(c.rows) + " rows");
}

std::size_t RunFile::element_size(hid_t mem_type, std::size_t t_size) {
  const std::size_t bytes = H5Tget_size(mem_type);
  PM_CHECK(bytes > 0 && bytes % t_size == 0, "memory type of " + std::to_string(bytes) +
                                                 " bytes read into elements of " +
                                                 std::to_string(t_size));
  return bytes / t_size;
}

Handle RunFile::open_object(const char* object) const {
  return own(H5Oopen(file_.get(), object, H5P_DEFAULT), H5Oclose, where(object) + ": opening");
}

std::optional<std::string> RunFile::string_attribute(const char* object, const char* name) const {
  return read_string_attribute(open_object(object).get(), name, where(object));
}

std::optional<std::int64_t> RunFile::int_attribute(const char* object, const char* name) const {
  return read_int_attribute(open_object(object).get(), name, where(object));
}

std::optional<double> RunFile::float_attribute(const char* object, const char* name) const {
  return read_float_attribute(open_object(object).get(), name, where(object));
}

std::map<std::string, std::string> RunFile::attributes(const char* object) const {
  return read_attributes(open_object(object).get(), where(object));
}

ImagesShape check_images(const RunFile& f) {
  ImagesShape s;
  {
    const Column key = f.column(layout::kKey, Element::kU8, 2);
    s.rows = key.rows;
    s.key_width = key.cols;
  }
  if (s.rows > static_cast<hsize_t>(layout::kMaxRows))
    f.fail(layout::kKey, std::to_string(s.rows) + " rows; a file holds at most " +
                             std::to_string(layout::kMaxRows));
  if (s.key_width < 1 || s.key_width > layout::kMaxKeyWidth)
    f.fail(layout::kKey, "key width " + std::to_string(s.key_width) + " is not in 1.." +
                             std::to_string(layout::kMaxKeyWidth));
  {
    const Column embedding = f.column(layout::kEmbedding, Element::kF32, 2, s.rows);
    s.dim = embedding.cols;
  }
  if (s.dim < 1 || s.dim > layout::kMaxEmbeddingDim)
    f.fail(layout::kEmbedding, "embedding dimension " + std::to_string(s.dim) + " is not in 1.." +
                                   std::to_string(layout::kMaxEmbeddingDim));
  // Files of every version carry embedding_dim; a test file written by hand may not.
  if (const auto dim = f.int_attribute("/", "embedding_dim"); dim && *dim != static_cast<std::int64_t>(s.dim))
    f.fail(layout::kEmbedding, "has " + std::to_string(s.dim) +
                                   " values per row, but the root attribute embedding_dim says " +
                                   std::to_string(*dim));
  f.column(layout::kKeyLength, Element::kU32, 1, s.rows);
  f.column(layout::kStatus, Element::kU8, 1, s.rows);
  f.column(layout::kContentHash, Element::kU8, 2, s.rows, layout::kContentHashBytes);
  f.column(layout::kPhash, Element::kU64, 1, s.rows);
  return s;
}

std::vector<std::string> read_keys(const RunFile& f, const ImagesShape& shape, hsize_t first,
                                   hsize_t count) {
  const Column key = f.column(layout::kKey, Element::kU8, 2, shape.rows, shape.key_width);
  const Column length = f.column(layout::kKeyLength, Element::kU32, 1, shape.rows);
  const auto bytes = f.read<std::uint8_t>(key, H5T_NATIVE_UINT8, first, count);
  const auto lengths = f.read<std::uint32_t>(length, H5T_NATIVE_UINT32, first, count);
  std::vector<std::string> keys;
  keys.reserve(count);
  for (hsize_t i = 0; i < count; ++i) {
    if (lengths[i] > shape.key_width)
      f.fail(layout::kKeyLength, "row " + std::to_string(first + i) + " says " +
                                     std::to_string(lengths[i]) + " bytes, past the key width " +
                                     std::to_string(shape.key_width));
    keys.emplace_back(reinterpret_cast<const char*>(bytes.data() + i * shape.key_width), lengths[i]);
  }
  return keys;
}

std::vector<std::uint8_t> read_status(const RunFile& f, const ImagesShape& shape, hsize_t first,
                                      hsize_t count) {
  const Column column = f.column(layout::kStatus, Element::kU8, 1, shape.rows);
  auto status = f.read<std::uint8_t>(column, H5T_NATIVE_UINT8, first, count);
  for (hsize_t i = 0; i < count; ++i)
    if (status[i] >= kStatusCodeCount)
      f.fail(layout::kStatus, "row " + std::to_string(first + i) + " has status " +
                                  std::to_string(status[i]) + ", not a status code (0.." +
                                  std::to_string(kStatusCodeCount - 1) + ")");
  return status;
}

void check_row_range(const RunFile& f, const char* what, std::int64_t begin, std::int64_t end,
                     hsize_t rows) {
  if (!(0 <= begin && begin <= end && static_cast<hsize_t>(end) <= rows))
    throw Error(std::string(what) + ": rows [" + std::to_string(begin) + ", " +
                std::to_string(end) + ") are not within the " + std::to_string(rows) +
                " rows of '" + f.path() + "'");
}

}  // namespace pm::h5
