// Attributes on HDF5 objects. Strings are stored as variable-length UTF-8 scalars:
// unlike fixed-length ones they have no 64 KiB object-header limit (a model card or a
// command line may be long), and h5py reads them as str. Writing attributes is
// collective in parallel HDF5: every rank must write the same value.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <string>

namespace pm::h5 {

void write_attribute(hid_t obj, const char* name, const std::string& value);
void write_attribute(hid_t obj, const char* name, std::int64_t value);
void write_attribute(hid_t obj, const char* name, float value);

// Every attribute of `obj` as text: strings as stored (fixed or variable length),
// integers in decimal, floats with enough digits to round-trip.
std::map<std::string, std::string> read_attributes(hid_t obj);

}  // namespace pm::h5
