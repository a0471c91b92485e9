// Attributes on HDF5 objects. Strings are stored as variable-length UTF-8 scalars:
// unlike fixed-length ones they have no 64 KiB object-header limit (a model card or a
// command line may be long), and h5py reads them as str. Writing attributes is
// collective in parallel HDF5: every rank must write the same value.
//
// Reading trusts nothing in the file: before any byte is read, the attribute must hold
// exactly one element (a scalar or a 1-element array) of the class asked for, and a
// string at most kMaxAttributeBytes. Anything else is a pm::Error that names `where`
// (the file and object, e.g. "'run.h5' /dedup"), the attribute and what was expected.
#pragma once

#include <hdf5.h>

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
