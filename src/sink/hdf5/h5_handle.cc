// HDF5 error stack to exception text, and the quiet-errors guard.
#include "h5_handle.h"

#include "pixelmill/error.h"

namespace pm::h5 {

namespace {

// HDF5 pushes one entry per layer; the deepest (first walked, H5E_WALK_UPWARD) says
// what actually went wrong ("unable to open file", "file exists", ...), the later
// ones only repeat the call chain. Keep the first and the last.
struct Collected {
  std::string innermost;
  std::string outermost;
};

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<Collected*>(data);
  std::string text = e->desc ? e->desc : "";
  if (e->func_name) text = std::string(e->func_name) + ": " + text;
  if (n == 0) out->innermost = text;
  out->outermost = text;
  return 0;
}

std::string hdf5_message() {
  Collected c;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &c);
  H5Eclear2(H5E_DEFAULT);
  if (c.innermost.empty()) return "HDF5 error (no details)";
  if (c.outermost == c.innermost) return c.innermost;
  return c.outermost + " <- " + c.innermost;
}

}  // namespace

Handle own(hid_t id, Handle::Closer close, const std::string& what) {
  if (id < 0) throw Error(what + ": " + hdf5_message());
  return Handle(id, close);
}

void check(herr_t status, const std::string& what) {
  if (status < 0) throw Error(what + ": " + hdf5_message());
}

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

bool exists(hid_t loc, const char* path) {
  const htri_t found = H5Lexists(loc, path, H5P_DEFAULT);
  check(found, std::string("H5Lexists ") + path);
  return found > 0;
}

}  // namespace pm::h5
