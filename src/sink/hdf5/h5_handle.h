// Ownership of HDF5 identifiers, and HDF5 errors as pm::Error.
// Every hid_t is wrapped on the line that creates it: collective I/O has many early
// exits, and a dataset or dataspace left open keeps H5Fclose from closing the file.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

namespace pm::h5 {

// A move-only owner of one hid_t, closed with the function that matches its kind.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      close_ = other.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Throws pm::Error("<what>: <HDF5's innermost message>") when `id` is negative, and
// otherwise returns an owner that closes it with `close`.
Handle own(hid_t id, Handle::Closer close, const std::string& what);
inline Handle own_file(hid_t id, const std::string& what) { return own(id, H5Fclose, what); }
inline Handle own_group(hid_t id, const std::string& what) { return own(id, H5Gclose, what); }
inline Handle own_dataset(hid_t id, const std::string& what) { return own(id, H5Dclose, what); }
inline Handle own_space(hid_t id, const std::string& what) { return own(id, H5Sclose, what); }
inline Handle own_type(hid_t id, const std::string& what) { return own(id, H5Tclose, what); }
inline Handle own_plist(hid_t id, const std::string& what) { return own(id, H5Pclose, what); }
inline Handle own_attr(hid_t id, const std::string& what) { return own(id, H5Aclose, what); }

// Throws pm::Error when an HDF5 call returned a negative status.
void check(herr_t status, const std::string& what);

// While alive, HDF5 does not print its error stack to stderr (our exceptions carry
// the message instead); restores the previous handler on exit.
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// True when `path` names a link (group or dataset) under `loc`; intermediate groups
// must exist. Throws on HDF5 errors.
bool exists(hid_t loc, const char* path);

}  // namespace pm::h5
