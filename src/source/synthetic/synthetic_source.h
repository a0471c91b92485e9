// `synthetic:N`: N small generated JPEGs, for benchmarks and tests that need many records
// without a data set (the memory benchmark in perf/memory runs a million). Keys are
// "synthetic/" and the record number, zero padded; the bytes cycle through a few dozen
// images encoded once, so reading costs nothing next to decoding. Splits of 256 records.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pixelmill/source.h"

namespace pm::source {

// `spec` is what follows "synthetic:": the record count (1..10^10).
std::unique_ptr<Source> make_synthetic_source(const std::string& spec);

}  // namespace pm::source
