// RowArena: a sparse anonymous mapping for rows at their file positions (row_arena.h).
#include "row_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <utility>

#include "h5_handle.h"

namespace pm::h5 {

RowArena::RowArena(const std::vector<RowBlock>& blocks, std::size_t row_bytes, bool allow_sparse)
    : row_bytes_(row_bytes) {
  hsize_t rows = 0;
  for (const RowBlock& b : blocks)
    if (b.count > 0) {
      blocks_.push_back(b);
      rows += b.count;
    }
  if (rows == 0) return;
  origin_ = blocks_.front().first;
  const hsize_t span = blocks_.back().first + blocks_.back().count - origin_;
  if (allow_sparse && span > rows) {  // scattered blocks: worth a sparse layout
    const std::size_t bytes = static_cast<std::size_t>(span) * row_bytes_;
    void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map != MAP_FAILED) {
      base_ = static_cast<std::byte*>(map);
      mapped_ = bytes;
      sparse_ = true;
      return;
    }
  }
  dense_.assign(static_cast<std::size_t>(rows) * row_bytes_, std::byte{0});
  base_ = dense_.data();
}

RowArena::RowArena(RowArena&& other) noexcept
    : blocks_(std::move(other.blocks_)),
      row_bytes_(other.row_bytes_),
      origin_(other.origin_),
      mapped_(std::exchange(other.mapped_, 0)),
      base_(std::exchange(other.base_, nullptr)),
      dense_(std::move(other.dense_)),
      sparse_(other.sparse_) {
  if (!sparse_ && !dense_.empty()) base_ = dense_.data();
}

RowArena::~RowArena() {
  if (mapped_ > 0) munmap(base_, mapped_);
}

void RowArena::write(hid_t dataset, hid_t mem_type, hsize_t cols, hid_t transfer) const {
  if (!sparse_) {
    write_rows(dataset, mem_type, cols, blocks_, base_, transfer);
    return;
  }
  // The memory space spans the arena; its selection is the file selection shifted
  // by -origin_, so both have the same shape.
  Handle file_space = own_space(H5Dget_space(dataset), "H5Dget_space");
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t span = blocks_.back().first + blocks_.back().count - origin_;
  const hsize_t mem_dims[2] = {span, std::max<hsize_t>(1, cols)};
  Handle mem_space = own_space(H5Screate_simple(rank, mem_dims, nullptr), "H5Screate_simple");
  std::vector<RowBlock> shifted = blocks_;
  for (RowBlock& b : shifted) b.first -= origin_;
  select_rows(file_space.get(), cols, blocks_);
  select_rows(mem_space.get(), cols, shifted);
  check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), transfer, base_),
        "H5Dwrite");
}

}  // namespace pm::h5
