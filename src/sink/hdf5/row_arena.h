// Memory for one rank's rows of one dataset, laid out the way HDF5 writes fastest.
//
// HDF5 1.10 maps a collective write onto chunks a chunk at a time only when the memory
// selection has the same shape as the file selection; otherwise it walks every element
// (measured on 100k x 512-float rows held as 100 scattered blocks per rank: several
// seconds of CPU per write). A rank that claimed scattered splits selects scattered
// row blocks in the file, so the arena places each row at its file row minus the
// rank's first row, gaps included. The gaps are never touched: the arena is an
// anonymous MAP_NORESERVE mapping, so only the pages that hold rows are ever backed by
// memory. Where the kernel refuses the mapping (strict overcommit), the arena falls
// back to rows back to back, which HDF5 writes correctly, only more slowly.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <vector>

#include "h5_rows.h"

namespace pm::h5 {

class RowArena {
 public:
  // Room for the rows of `blocks` (ascending, disjoint), `row_bytes` each, zeroed.
  // `allow_sparse` = false forces the back-to-back layout (tests compare the two).
  RowArena(const std::vector<RowBlock>& blocks, std::size_t row_bytes, bool allow_sparse = true);
  RowArena(RowArena&& other) noexcept;
  RowArena& operator=(RowArena&&) = delete;
  RowArena(const RowArena&) = delete;
  RowArena& operator=(const RowArena&) = delete;
  ~RowArena();

  // Storage of the row at file row `file_row`, which is the `index`-th of this rank's
  // rows in block order.
  std::byte* row(hsize_t file_row, hsize_t index) {
    return base_ + row_bytes_ * (sparse_ ? file_row - origin_ : index);
  }
  // One collective H5Dwrite of every row (see write_rows for the contract).
  void write(hid_t dataset, hid_t mem_type, hsize_t cols, hid_t transfer) const;

  bool sparse() const { return sparse_; }

 private:
  std::vector<RowBlock> blocks_;
  std::size_t row_bytes_;
  hsize_t origin_ = 0;         // file row of the arena's first row (sparse layout)
  std::size_t mapped_ = 0;     // bytes of the mapping, 0 when dense or empty
  std::byte* base_ = nullptr;  // the mapping, or dense_.data()
  std::vector<std::byte> dense_;
  bool sparse_ = false;
};

}  // namespace pm::h5
