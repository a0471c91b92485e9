// Attributes on HDF5 objects. Strings are stored as fixed-length UTF-8 scalars
// (NUL-padded, exactly as long as the string, at least 1 byte), so that no attribute data
// goes to the file's global heap: libhdf5 1.10 may loop forever reading a damaged one.
// A string over 60 KiB, too long for the object header, is stored variable-length as all
// were before. h5py reads fixed-length strings as bytes, variable-length ones as str.
// A string ends at its first NUL byte. Writing attributes is collective in parallel
// HDF5: every rank must write the same value.
//
// Reading trusts nothing in the file: before any byte is read, the attribute must hold
// exactly one element (a scalar or a 1-element array) of the class asked for, and a
// string at most kMaxAttributeBytes. Anything else is a pm::Error that names `where`
// (the file and object, e.g. "'run.h5' /dedup"), the attribute and what was expected.
// A variable-length string (older files) is read under a watchdog: when libhdf5 does not
// return within hdf5_read_timeout(), the process prints why and exits with status 1.
#pragma once

#include <hdf5.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace pm::h5 {

void write_attribute(hid_t obj, const char* name, const std::string& value);
void write_attribute(hid_t obj, const char* name, std::int64_t value);
void write_attribute(hid_t obj, const char* name, float value);

// Longest string attribute read back. A model card is a few KiB; this leaves room for
// any real one while a crafted attribute cannot make a reader allocate without bound.
inline constexpr std::size_t kMaxAttributeBytes = std::size_t{16} << 20;

// How long reading a variable-length string attribute may take before the process ends:
// $PM_HDF5_READ_TIMEOUT_S (whole seconds, 1..86400), else 60 s. A bad value is a pm::Error.
std::chrono::seconds hdf5_read_timeout();

// One attribute of `obj`, or nullopt when `obj` has none of that name.
// String: fixed or variable length, NUL padding removed.
std::optional<std::string> read_string_attribute(hid_t obj, const char* name,
                                                 const std::string& where);
// Integer class only (any size and sign that fits int64).
std::optional<std::int64_t> read_int_attribute(hid_t obj, const char* name,
                                               const std::string& where);
// Float or integer class; the value must be finite.
std::optional<double> read_float_attribute(hid_t obj, const char* name, const std::string& where);

// Every attribute of `obj` as text, each checked as above: strings as stored,
// integers in decimal, floats with enough digits to round-trip.
std::map<std::string, std::string> read_attributes(hid_t obj, const std::string& where);

}  // namespace pm::h5
