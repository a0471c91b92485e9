#include "dedup_file.h"

#include <hdf5.h>

#include <utility>

#include "pixelmill/error.h"

namespace pm::dedup {

namespace {

// Owner of one hid_t; the closer matches the kind of handle.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Turns the HDF5 error stack printing off while probing for optional objects.
class QuietErrors {
 public:
  QuietErrors() { H5Eget_auto2(H5E_DEFAULT, &func_, &data_); H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

Handle open_file(const std::string& path) {
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  PM_CHECK(f.valid(), "cannot open HDF5 file '" + path + "'");
  return f;
}

template <class T>
std::vector<T> read_rows(const std::string& path, const std::string& dataset, std::int64_t begin,
                         std::int64_t end, hid_t mem_type) {
  const Handle f = open_file(path);
  const Handle d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  PM_CHECK(d.valid(), "no dataset " + dataset + " in '" + path + "'");
  const Handle space(H5Dget_space(d.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  PM_CHECK(rank == 1 || rank == 2, dataset + ": expected a 1-D or 2-D dataset");
  hsize_t dims[2] = {0, 1};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  PM_CHECK(begin >= 0 && begin <= end && static_cast<hsize_t>(end) <= dims[0],
           dataset + ": row range out of bounds");
  const hsize_t cols = rank == 2 ? dims[1] : 1;
  std::vector<T> out(static_cast<std::size_t>((end - begin) * static_cast<std::int64_t>(cols)));
  if (out.empty()) return out;
  hsize_t start[2] = {static_cast<hsize_t>(begin), 0};
  hsize_t count[2] = {static_cast<hsize_t>(end - begin), cols};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  const Handle mem(H5Screate_simple(rank, count, nullptr), H5Sclose);
  PM_CHECK(H5Dread(d.get(), mem_type, mem.get(), space.get(), H5P_DEFAULT, out.data()) >= 0,
           "cannot read " + dataset + " from '" + path + "'");
  return out;
}

}  // namespace

bool has_dataset(const std::string& path, const std::string& dataset) {
  const Handle f = open_file(path);
  const QuietErrors quiet;
  // Check each link on the way: H5Lexists on "/a/b" fails when "/a" is missing.
  std::string prefix;
  std::size_t pos = 1;
  while (pos <= dataset.size()) {
    const std::size_t next = dataset.find('/', pos);
    prefix = dataset.substr(0, next);
    if (H5Lexists(f.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return true;
}

std::int64_t dataset_rows(const std::string& path, const std::string& dataset) {
  const Handle f = open_file(path);
  const Handle d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  PM_CHECK(d.valid(), "no dataset " + dataset + " in '" + path + "'");
  const Handle space(H5Dget_space(d.get()), H5Sclose);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<std::int64_t>(dims[0]);
}

std::vector<std::int64_t> read_int64_rows(const std::string& path, const std::string& dataset,
                                          std::int64_t begin, std::int64_t end) {
  return read_rows<std::int64_t>(path, dataset, begin, end, H5T_NATIVE_INT64);
}

std::vector<float> read_float_rows(const std::string& path, const std::string& dataset,
                                   std::int64_t begin, std::int64_t end) {
  return read_rows<float>(path, dataset, begin, end, H5T_NATIVE_FLOAT);
}

std::string read_string_attribute(const std::string& path, const std::string& object,
                                  const std::string& name) {
  const Handle f = open_file(path);
  const QuietErrors quiet;
  if (H5Aexists_by_name(f.get(), object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return "";
  const Handle a(H5Aopen_by_name(f.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                 H5Aclose);
  if (!a.valid()) return "";
  const Handle type(H5Aget_type(a.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return "";
  if (H5Tis_variable_str(type.get()) > 0) {
    // Read with the file's own type: HDF5 does not convert between ASCII and UTF-8.
    char* value = nullptr;
    if (H5Aread(a.get(), type.get(), &value) < 0 || value == nullptr) return "";
    std::string s(value);
    H5free_memory(value);
    return s;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string s(size, '\0');
  if (H5Aread(a.get(), type.get(), s.data()) < 0) return "";
  s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
  return s;
}

double read_number_attribute(const std::string& path, const std::string& object,
                             const std::string& name, double fallback) {
  const Handle f = open_file(path);
  const QuietErrors quiet;
  if (H5Aexists_by_name(f.get(), object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return fallback;
  const Handle a(H5Aopen_by_name(f.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                 H5Aclose);
  double v = fallback;
  if (!a.valid() || H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v) < 0) return fallback;
  return v;
}

}  // namespace pm::dedup
