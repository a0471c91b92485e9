// Scalar attributes: write (replacing an existing one) and read back as text.
#include "h5_attributes.h"

#include <cstdio>
#include <vector>

#include "h5_handle.h"
#include "pixelmill/error.h"

namespace pm::h5 {

namespace {

Handle vl_string_type() {
  Handle t = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

// Creates (or replaces) a scalar attribute stored as `file_type`, from memory in `mem_type`.
void write_scalar(hid_t obj, const char* name, hid_t file_type, hid_t mem_type,
                  const void* value) {
  const htri_t present = H5Aexists(obj, name);
  check(present, std::string("H5Aexists ") + name);
  if (present > 0) check(H5Adelete(obj, name), std::string("H5Adelete ") + name);
  Handle space = own_space(H5Screate(H5S_SCALAR), "H5Screate");
  Handle attr = own_attr(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         std::string("creating attribute ") + name);
  check(H5Awrite(attr.get(), mem_type, value), std::string("writing attribute ") + name);
}

std::string read_string(hid_t attr, hid_t file_type, const std::string& name) {
  if (H5Tis_variable_str(file_type) > 0) {
    // Read in the stored character set: HDF5 converts no strings between ASCII and UTF-8.
    Handle mem = own_type(H5Tcopy(file_type), "H5Tcopy");
    char* text = nullptr;
    check(H5Aread(attr, mem.get(), &text), "reading attribute " + name);
    std::string out = text ? text : "";
    Handle space = own_space(H5Aget_space(attr), "H5Aget_space");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, &text);
    return out;
  }
  const std::size_t size = H5Tget_size(file_type);
  Handle mem = own_type(H5Tcopy(file_type), "H5Tcopy");
  check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
  std::vector<char> buf(size);
  check(H5Aread(attr, mem.get(), buf.data()), "reading attribute " + name);
  std::string out(buf.data(), size);
  const std::size_t end = out.find('\0');  // NUL-padded or NUL-terminated
  if (end != std::string::npos) out.resize(end);
  return out;
}

std::string read_one(hid_t obj, const char* name) {
  Handle attr = own_attr(H5Aopen(obj, name, H5P_DEFAULT), std::string("opening attribute ") + name);
  Handle type = own_type(H5Aget_type(attr.get()), "H5Aget_type");
  Handle space = own_space(H5Aget_space(attr.get()), "H5Aget_space");
  PM_CHECK(H5Sget_simple_extent_npoints(space.get()) == 1,
           std::string("attribute ") + name + " is not a scalar");
  switch (H5Tget_class(type.get())) {
    case H5T_STRING:
      return read_string(attr.get(), type.get(), name);
    case H5T_INTEGER: {
      std::int64_t v = 0;
      check(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), std::string("reading attribute ") + name);
      return std::to_string(v);
    }
    case H5T_FLOAT: {
      double v = 0;
      check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v), std::string("reading attribute ") + name);
      char text[40];
      std::snprintf(text, sizeof text, "%.9g", v);
      return text;
    }
    default:
      throw Error(std::string("attribute ") + name + " has a type pixelmill does not read");
  }
}

herr_t collect_name(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

}  // namespace

void write_attribute(hid_t obj, const char* name, const std::string& value) {
  Handle type = vl_string_type();
  const char* text = value.c_str();
  write_scalar(obj, name, type.get(), type.get(), &text);
}

void write_attribute(hid_t obj, const char* name, std::int64_t value) {
  // Stored little-endian whatever the host: the file is portable.
  write_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void write_attribute(hid_t obj, const char* name, float value) {
  write_scalar(obj, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &value);
}

std::map<std::string, std::string> read_attributes(hid_t obj) {
  std::vector<std::string> names;
  hsize_t index = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &names),
        "listing attributes");
  std::map<std::string, std::string> out;
  for (const std::string& name : names) out[name] = read_one(obj, name.c_str());
  return out;
}

}  // namespace pm::h5
