// Row datasets: creation with chunking, collective block writes, block reads.
#include "h5_rows.h"

#include <algorithm>
#include <string>

#include "pixelmill/error.h"

namespace pm::h5 {

namespace {

// About 1 MiB per chunk: large enough that MPI-IO writes are efficient, small enough
// that a partial read (one rank's block, a dedup ring step) does not drag in much
// more than it needs. Never more rows than the dataset has: parallel HDF5 allocates
// every chunk in full when the dataset is created.
constexpr hsize_t kChunkBytes = hsize_t{1} << 20;

hsize_t chunk_rows(hsize_t rows, hsize_t row_bytes) {
  const hsize_t target = std::max<hsize_t>(1, kChunkBytes / std::max<hsize_t>(1, row_bytes));
  return std::max<hsize_t>(1, std::min(target, rows));
}

// Adjacent blocks merged: consecutive splits held by one rank become one block.
std::vector<RowBlock> merged(const std::vector<RowBlock>& blocks) {
  std::vector<RowBlock> out;
  for (const RowBlock& b : blocks) {
    if (b.count == 0) continue;
    if (!out.empty() && out.back().first + out.back().count == b.first)
      out.back().count += b.count;
    else
      out.push_back(b);
  }
  return out;
}

}  // namespace

// A single block stays a regular hyperslab, which HDF5 maps onto chunks a chunk at a
// time; unions of several are mapped fast only when the memory selection has the same
// shape (see row_arena.h). Merging blocks first makes both cases more frequent.
void select_rows(hid_t space, hsize_t cols, const std::vector<RowBlock>& blocks) {
  const std::vector<RowBlock> runs = merged(blocks);
  if (runs.empty()) {
    check(H5Sselect_none(space), "H5Sselect_none");
    return;
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const hsize_t start[2] = {runs[i].first, 0};
    const hsize_t count[2] = {runs[i].count, cols};
    check(H5Sselect_hyperslab(space, i == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, start, nullptr,
                              count, nullptr),
          "H5Sselect_hyperslab");
  }
}


Handle create_rows(hid_t file, const char* path, hid_t file_type, hsize_t rows, hsize_t cols) {
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {rows, cols};
  const hsize_t max_dims[2] = {H5S_UNLIMITED, cols};
  Handle space = own_space(H5Screate_simple(rank, dims, max_dims), std::string("dataspace for ") + path);

  const hsize_t row_bytes = H5Tget_size(file_type) * std::max<hsize_t>(1, cols);
  const hsize_t chunk[2] = {chunk_rows(rows, row_bytes), std::max<hsize_t>(1, cols)};
  Handle dcpl = own_plist(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  check(H5Pset_chunk(dcpl.get(), rank, chunk), std::string("chunking ") + path);
  // Every element is written right after creation: filling chunks with zeros first
  // would write the whole dataset twice.
  check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  return own_dataset(H5Dcreate2(file, path, file_type, space.get(), H5P_DEFAULT, dcpl.get(),
                                H5P_DEFAULT),
                     std::string("creating ") + path);
}

Handle collective_transfer() {
  Handle dxpl = own_plist(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate");
  check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  return dxpl;
}

void write_rows(hid_t dataset, hid_t mem_type, hsize_t cols, const std::vector<RowBlock>& blocks,
                const void* data, hid_t transfer) {
  Handle file_space = own_space(H5Dget_space(dataset), "H5Dget_space");
  select_rows(file_space.get(), cols, blocks);

  hsize_t rows = 0;
  for (const RowBlock& b : blocks) rows += b.count;
  // The memory buffer holds the rows back to back. HDF5 pairs memory elements with the
  // file selection in the file's row-major order, which is block order because blocks
  // are ascending and disjoint. The memory space has the file's row shape so that a
  // single block has the same shape in memory and file: HDF5 then maps it onto chunks
  // a chunk at a time instead of element by element.
  const hsize_t elements = rows * std::max<hsize_t>(1, cols);
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t mem_dims[2] = {std::max<hsize_t>(1, rows), std::max<hsize_t>(1, cols)};
  Handle mem_space = own_space(H5Screate_simple(rank, mem_dims, nullptr), "H5Screate_simple");
  if (elements == 0) check(H5Sselect_none(mem_space.get()), "H5Sselect_none");

  // HDF5 refuses a null buffer even when nothing is selected.
  static const double dummy = 0;
  check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), transfer,
                 elements == 0 ? static_cast<const void*>(&dummy) : data),
        "H5Dwrite");
}

void read_rows(hid_t dataset, hid_t mem_type, hsize_t cols, hsize_t first, hsize_t count,
               void* data) {
  if (count == 0) return;
  Handle file_space = own_space(H5Dget_space(dataset), "H5Dget_space");
  select_rows(file_space.get(), cols, {{first, count}});
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t mem_dims[2] = {count, std::max<hsize_t>(1, cols)};  // same shape: fast path
  Handle mem_space = own_space(H5Screate_simple(rank, mem_dims, nullptr), "H5Screate_simple");
  check(H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data),
        "H5Dread");
}

Extent extent(hid_t dataset) {
  Handle space = own_space(H5Dget_space(dataset), "H5Dget_space");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  PM_CHECK(rank == 1 || rank == 2, "row dataset of rank " + std::to_string(rank));
  hsize_t dims[2] = {0, 0};
  check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "H5Sget_simple_extent_dims");
  return {dims[0], rank == 2 ? dims[1] : 0};
}

}  // namespace pm::h5
