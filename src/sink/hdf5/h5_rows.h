// Row datasets: the first dimension is the row index shared by every dataset of a
// group; an optional second dimension holds fixed-width row contents (key bytes,
// embedding values, hash bytes). Writers place blocks of rows collectively.
#pragma once

#include <hdf5.h>

#include <vector>

#include "h5_handle.h"

namespace pm::h5 {

// A run of rows in the file: rows [first, first + count).
struct RowBlock {
  hsize_t first = 0;
  hsize_t count = 0;
};

// Creates `path` (absolute, parent group existing) as a chunked dataset of `rows` rows of
// `file_type`; `cols` == 0 makes it 1-D [rows], otherwise 2-D [rows, cols]. The row
// dimension is unlimited so a run can be extended later; chunks hold about 1 MiB.
// Collective in parallel HDF5.
Handle create_rows(hid_t file, const char* path, hid_t file_type, hsize_t rows, hsize_t cols);

// A dataset-transfer property list asking for collective MPI-IO.
Handle collective_transfer();

// One collective H5Dwrite of this rank's `blocks` (ascending, disjoint) from `data`,
// which holds their rows back to back in block order. A rank with no rows passes no
// blocks and still calls: it selects nothing but takes part in the collective.
void write_rows(hid_t dataset, hid_t mem_type, hsize_t cols, const std::vector<RowBlock>& blocks,
                const void* data, hid_t transfer);

// Selects the rows of `blocks` (ascending, disjoint; adjacent ones are merged) in
// `space`, a dataspace of the dataset's shape; none when there are no rows.
void select_rows(hid_t space, hsize_t cols, const std::vector<RowBlock>& blocks);

// Reads rows [first, first + count) into `data` (independent, any driver).
void read_rows(hid_t dataset, hid_t mem_type, hsize_t cols, hsize_t first, hsize_t count,
               void* data);

// Extent of a row dataset: rows, and cols (0 for a 1-D dataset).
struct Extent {
  hsize_t rows = 0;
  hsize_t cols = 0;
};
Extent extent(hid_t dataset);

}  // namespace pm::h5
