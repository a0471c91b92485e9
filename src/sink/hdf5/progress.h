// /progress: which planned splits a file holds (see output_layout.h). Written by
// write_images for every run; read back by `extract --resume`.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <vector>

namespace pm::h5 {

// Creates /progress with split_done and split_rows from `rows_of` (rows of each planned
// split, -1 for a split not in the file). Collective: every rank passes the same table;
// rank 0 writes the values.
void write_progress(hid_t file, const std::vector<std::int64_t>& rows_of, int rank,
                    hid_t transfer);

}  // namespace pm::h5
