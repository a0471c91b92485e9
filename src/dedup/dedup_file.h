// Reading /dedup back (pm::h5 writes it; its reader covers /images only): plain serial
// HDF5 reads of one file, every hid_t owned by an RAII handle. Not collective.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm::dedup {

bool has_dataset(const std::string& path, const std::string& dataset);
// Rows (first dimension) of a dataset.
std::int64_t dataset_rows(const std::string& path, const std::string& dataset);
// Rows [begin, end) of an int64 dataset of rank 1 or 2 (row-major, flattened).
std::vector<std::int64_t> read_int64_rows(const std::string& path, const std::string& dataset,
                                          std::int64_t begin, std::int64_t end);
std::vector<float> read_float_rows(const std::string& path, const std::string& dataset,
                                   std::int64_t begin, std::int64_t end);
// A string attribute of an object ("/" for the root); "" when absent.
std::string read_string_attribute(const std::string& path, const std::string& object,
                                  const std::string& name);
// A numeric attribute read as double; `fallback` when absent.
double read_number_attribute(const std::string& path, const std::string& object,
                             const std::string& name, double fallback);

}  // namespace pm::dedup
