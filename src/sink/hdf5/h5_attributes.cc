// Scalar attributes: written (replacing an existing one), and read back only after the
// attribute's shape, class and size were checked. Every earlier reader read an
// attribute into room for one value whatever the file said it held: an 8-element
// `threshold` overwrote the stack, a 2000-element string array overran its buffer.
#include "h5_attributes.h"

#include "crash_message.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "h5_handle.h"
#include "pixelmill/error.h"
#include "pixelmill/watchdog.h"

namespace pm::h5 {

namespace {

// The longest string written fixed-length. An attribute lives in a message of its object
// header, and a message holds at most 64 KiB (name, type and dataspace included); run
// files are created with the default library version bounds (earliest), so HDF5 has no
// dense attribute storage to move a larger one to and H5Acreate2 fails ("object header
// message is too large"). A longer string (a huge model card, command line or parameters
// JSON) is therefore still written variable-length, its bytes in the global heap, as every
// string was before: only those files keep the read that the watchdog below guards.
// 60 KiB leaves room for the name and the other parts of the message.
constexpr std::size_t kMaxFixedStringBytes = std::size_t{60} << 10;

Handle vl_string_type() {
  Handle t = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

// A fixed-length UTF-8 string type of exactly `bytes` (at least 1), NUL-padded: a string
// of that length fills it with no terminator, an empty one is a single NUL.
Handle fixed_string_type(std::size_t bytes) {
  Handle t = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check(H5Tset_size(t.get(), std::max<std::size_t>(bytes, 1)), "H5Tset_size");
  check(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
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

[[noreturn]] void bad(const std::string& where, const std::string& name, const std::string& what) {
  throw Error(where + " attribute '" + name + "' " + what);
}

std::string class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "an integer";
    case H5T_FLOAT: return "a float";
    case H5T_STRING: return "a string";
    case H5T_BITFIELD: return "a bitfield";
    case H5T_OPAQUE: return "an opaque value";
    case H5T_COMPOUND: return "a compound value";
    case H5T_REFERENCE: return "a reference";
    case H5T_ENUM: return "an enum";
    case H5T_VLEN: return "a variable-length sequence";
    case H5T_ARRAY: return "an array type";
    default: return "a value of unknown class";
  }
}

// An attribute found to hold exactly one element, with its stored type.
struct Single {
  Handle attr;
  Handle type;
  H5T_class_t type_class = H5T_NO_CLASS;
};

// Opens `name` and checks that it holds one element; nullopt when `obj` has no such
// attribute. Nothing is read yet.
std::optional<Single> open_single(hid_t obj, const std::string& name, const std::string& where) {
  const htri_t present = H5Aexists(obj, name.c_str());
  check(present, where + ": looking for attribute '" + name + "'");
  if (present == 0) return std::nullopt;
  Single s;
  s.attr = own_attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT),
                    where + ": opening attribute '" + name + "'");
  Handle space = own_space(H5Aget_space(s.attr.get()), "H5Aget_space");
  const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
  if (kind == H5S_NULL) bad(where, name, "has no value (a null dataspace); expected one value");
  const hssize_t elements = H5Sget_simple_extent_npoints(space.get());
  if (elements != 1) {
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::string shape;
    if (rank > 0 && rank <= H5S_MAX_RANK) {
      std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
      check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
      for (const hsize_t d : dims) shape += (shape.empty() ? " [" : ", ") + std::to_string(d);
      shape += "]";
    }
    bad(where, name, "holds " + std::to_string(elements) + " elements" + shape +
                         "; expected one value (a scalar or a 1-element array)");
  }
  s.type = own_type(H5Aget_type(s.attr.get()), where + ": type of attribute '" + name + "'");
  s.type_class = H5Tget_class(s.type.get());
  return s;
}

struct FreeHdf5 {
  void operator()(char* p) const { H5free_memory(p); }
};

// Exit status of a process whose read of a variable-length string never returned: an
// error of the input (a damaged file), as extract and dedup report other run errors.
constexpr int kExitHungRead = 1;

std::string read_string(const Single& s, const std::string& name, const std::string& where) {
  if (s.type_class != H5T_STRING)
    bad(where, name, "is " + class_name(s.type_class) + "; expected a string");
  // Checked on every string read, so that a bad value is reported whatever the file holds.
  const std::chrono::seconds grace = hdf5_read_timeout();
  const htri_t variable = H5Tis_variable_str(s.type.get());
  check(variable, where + ": type of attribute '" + name + "'");
  if (variable > 0) {
    // One pointer, since the attribute holds one element. Read in the stored character
    // set: HDF5 converts no strings between ASCII and UTF-8.
    Handle mem = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(mem.get(), H5T_VARIABLE), "H5Tset_size");
    check(H5Tset_cset(mem.get(), H5Tget_cset(s.type.get())), "H5Tset_cset");
    char* raw = nullptr;
    herr_t read = -1;
    {
      // The bytes of a variable-length string are in the file's global heap, and libhdf5
      // 1.10 never returns from reading some damaged global heaps (found by fuzzing: a
      // heap object of index 0 and size 0 stops its parser advancing). Nothing can
      // interrupt libhdf5, so a read that does not return ends the process; under mpirun
      // that ends the job, instead of every rank waiting for this one forever. Files
      // written now keep strings fixed-length (above), except very long ones.
      const std::string message = "pixelmill: " + where + ": reading attribute '" + name +
                                  "': libhdf5 did not return in " +
                                  std::to_string(grace.count()) +
                                  " s; the file is damaged (libhdf5 1.10 loops on some damaged "
                                  "global heaps, where variable-length strings are kept); "
                                  "ending the job\n";
      const Watchdog watchdog(grace, [&message] {
        std::fputs(message.c_str(), stderr);
        std::fflush(stderr);
        std::_Exit(kExitHungRead);
      });
      // It also copies from that heap without checking it (fuzzing found a copy far past
      // its end): a crash there says why, too.
      const CrashMessage on_crash("pixelmill: " + where + ": reading attribute '" + name +
                                  "': libhdf5 crashed reading the file's global heap; the file "
                                  "is damaged; ending the job\n");
      read = H5Aread(s.attr.get(), mem.get(), &raw);
    }
    check(read, where + ": reading attribute '" + name + "'");
    const std::unique_ptr<char, FreeHdf5> text(raw);
    if (!text) return "";
    const std::size_t length = strnlen(text.get(), kMaxAttributeBytes + 1);
    if (length > kMaxAttributeBytes)
      bad(where, name, "is a string of more than " + std::to_string(kMaxAttributeBytes) +
                           " bytes; pixelmill reads at most that");
    return std::string(text.get(), length);
  }
  const std::size_t size = H5Tget_size(s.type.get());
  if (size == 0) bad(where, name, "is a fixed-length string of unknown size");
  if (size > kMaxAttributeBytes)
    bad(where, name, "is a fixed-length string of " + std::to_string(size) +
                         " bytes; pixelmill reads at most " + std::to_string(kMaxAttributeBytes));
  Handle mem = own_type(H5Tcopy(s.type.get()), "H5Tcopy");
  check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
  std::string out(size, '\0');  // exactly one element of the stored size
  check(H5Aread(s.attr.get(), mem.get(), out.data()), where + ": reading attribute '" + name + "'");
  const std::size_t end = out.find('\0');  // NUL-padded or NUL-terminated
  if (end != std::string::npos) out.resize(end);
  return out;
}

std::int64_t read_int(const Single& s, const std::string& name, const std::string& where) {
  if (s.type_class != H5T_INTEGER)
    bad(where, name, "is " + class_name(s.type_class) + "; expected an integer");
  // An unsigned 64-bit value above INT64_MAX would be clamped by HDF5's conversion:
  // read it as it is and refuse it instead.
  if (H5Tget_sign(s.type.get()) == H5T_SGN_NONE && H5Tget_size(s.type.get()) >= 8) {
    std::uint64_t u = 0;
    check(H5Aread(s.attr.get(), H5T_NATIVE_UINT64, &u), where + ": reading attribute '" + name + "'");
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      bad(where, name, "is " + std::to_string(u) + "; expected a signed 64-bit integer");
    return static_cast<std::int64_t>(u);
  }
  std::int64_t v = 0;
  check(H5Aread(s.attr.get(), H5T_NATIVE_INT64, &v), where + ": reading attribute '" + name + "'");
  return v;
}

double read_float(const Single& s, const std::string& name, const std::string& where) {
  if (s.type_class != H5T_FLOAT && s.type_class != H5T_INTEGER)
    bad(where, name, "is " + class_name(s.type_class) + "; expected a number");
  double v = 0;
  check(H5Aread(s.attr.get(), H5T_NATIVE_DOUBLE, &v), where + ": reading attribute '" + name + "'");
  if (!std::isfinite(v)) bad(where, name, "is not a finite number");
  return v;
}

herr_t collect_name(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

}  // namespace

void write_attribute(hid_t obj, const char* name, const std::string& value) {
  // A string ends at its first NUL, as it did when every one was written from c_str():
  // the reader cannot tell NUL padding from NUL bytes of the value.
  const std::size_t length = strnlen(value.c_str(), value.size());
  if (length > kMaxFixedStringBytes) {
    // Too long for the object header (see kMaxFixedStringBytes): variable-length.
    Handle type = vl_string_type();
    const char* text = value.c_str();
    write_scalar(obj, name, type.get(), type.get(), &text);
    return;
  }
  // Fixed-length, so that no attribute data goes to the global heap. Memory and file
  // type are the same: the bytes are written as they are, with no conversion.
  Handle type = fixed_string_type(length);
  std::string padded(std::max<std::size_t>(length, 1), '\0');
  std::memcpy(padded.data(), value.data(), length);
  write_scalar(obj, name, type.get(), type.get(), padded.data());
}

std::chrono::seconds hdf5_read_timeout() {
  constexpr long kDefault = 60, kMax = 86400;
  const char* text = std::getenv("PM_HDF5_READ_TIMEOUT_S");
  if (text == nullptr || *text == '\0') return std::chrono::seconds(kDefault);
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 1 || v > kMax)
    throw Error(std::string("PM_HDF5_READ_TIMEOUT_S is '") + text + "'; expected whole seconds, 1.." +
                std::to_string(kMax) + " (default " + std::to_string(kDefault) + ")");
  return std::chrono::seconds(v);
}

void write_attribute(hid_t obj, const char* name, std::int64_t value) {
  // Stored little-endian whatever the host: the file is portable.
  write_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void write_attribute(hid_t obj, const char* name, float value) {
  write_scalar(obj, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &value);
}

std::optional<std::string> read_string_attribute(hid_t obj, const char* name,
                                                 const std::string& where) {
  const auto s = open_single(obj, name, where);
  if (!s) return std::nullopt;
  return read_string(*s, name, where);
}

std::optional<std::int64_t> read_int_attribute(hid_t obj, const char* name,
                                               const std::string& where) {
  const auto s = open_single(obj, name, where);
  if (!s) return std::nullopt;
  return read_int(*s, name, where);
}

std::optional<double> read_float_attribute(hid_t obj, const char* name, const std::string& where) {
  const auto s = open_single(obj, name, where);
  if (!s) return std::nullopt;
  return read_float(*s, name, where);
}

std::map<std::string, std::string> read_attributes(hid_t obj, const std::string& where) {
  std::vector<std::string> names;
  // libhdf5 1.10 lists attributes through a table that, when one attribute message of a
  // damaged object header does not decode, it releases with entries it never set (a crash
  // that depends on what the heap held; found by fuzzing). Looking up a name that is never
  // an attribute decodes every message without that table and fails cleanly instead.
  check(H5Aexists(obj, "\x01pixelmill: no such attribute"),
        where + ": its attributes cannot be read (damaged object header)");
  hsize_t index = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &names),
        where + ": listing attributes");
  std::map<std::string, std::string> out;
  for (const std::string& name : names) {
    const auto s = open_single(obj, name, where);
    if (!s) continue;
    switch (s->type_class) {
      case H5T_STRING:
        out[name] = read_string(*s, name, where);
        break;
      case H5T_INTEGER:
        out[name] = std::to_string(read_int(*s, name, where));
        break;
      case H5T_FLOAT: {
        char text[40];
        std::snprintf(text, sizeof text, "%.9g", read_float(*s, name, where));
        out[name] = text;
        break;
      }
      default:
        bad(where, name, "is " + class_name(s->type_class) +
                             "; pixelmill reads strings, integers and floats");
    }
  }
  return out;
}

}  // namespace pm::h5
