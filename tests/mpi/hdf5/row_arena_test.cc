// RowArena (src/sink/hdf5): the sparse layout and the back-to-back fallback write the
// same file contents, for scattered, contiguous and empty blocks on each rank.
#include <string>
#include <vector>

#include "h5_handle.h"
#include "h5_rows.h"
#include "h5_test_util.h"
#include "mpi_test_support.h"
#include "row_arena.h"

namespace pm::test {
namespace {

class RowArenaTest : public MpiTest {};

constexpr hsize_t kCols = 3;

// Rank r owns every block b with b % size == r (rank 1 owns none); block b has b % 4
// rows, so some blocks are empty and neighbouring blocks of a rank are not adjacent.
std::vector<h5::RowBlock> blocks_of(const Comm& comm, hsize_t& total) {
  std::vector<h5::RowBlock> mine;
  total = 0;
  for (hsize_t b = 0; b < 40; ++b) {
    const hsize_t n = b % 4;
    int owner = static_cast<int>(b % static_cast<hsize_t>(comm.size()));
    if (owner == 1) owner = 0;
    if (owner == comm.rank()) mine.push_back({total, n});
    total += n;
  }
  return mine;
}

void write_with(const Comm& comm, const std::string& path, bool allow_sparse, bool one_block) {
  hsize_t total = 0;
  std::vector<h5::RowBlock> mine = blocks_of(comm, total);
  if (one_block) {  // rows split evenly: one contiguous block per rank
    const hsize_t r = static_cast<hsize_t>(comm.rank()), p = static_cast<hsize_t>(comm.size());
    mine = {{total * r / p, total * (r + 1) / p - total * r / p}};
  }
  h5::Handle fapl = h5::own_plist(H5Pcreate(H5P_FILE_ACCESS), "fapl");
  H5Pset_fapl_mpio(fapl.get(), comm.raw(), MPI_INFO_NULL);
  h5::Handle file = h5::own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), path);
  h5::Handle ds = h5::create_rows(file.get(), "/v", H5T_STD_I64LE, total, kCols);
  h5::RowArena arena(mine, kCols * sizeof(std::int64_t), allow_sparse);
  hsize_t index = 0;
  for (const h5::RowBlock& b : mine)
    for (hsize_t k = 0; k < b.count; ++k) {
      auto* row = reinterpret_cast<std::int64_t*>(arena.row(b.first + k, index++));
      for (hsize_t c = 0; c < kCols; ++c) row[c] = static_cast<std::int64_t>((b.first + k) * 10 + c);
    }
  h5::Handle xfer = h5::collective_transfer();
  arena.write(ds.get(), H5T_NATIVE_INT64, kCols, xfer.get());
}

TEST_F(RowArenaTest, SparseAndDenseLayoutsWriteTheSameRows) {
  SharedTempDir dir(comm());
  hsize_t total = 0;
  blocks_of(comm(), total);
  int variant = 0;
  for (bool one_block : {false, true})
    for (bool sparse : {true, false}) {
      const std::string path = dir.path() + "/v" + std::to_string(variant++) + ".h5";
      EXPECT_NO_THROW(write_with(comm(), path, sparse, one_block));
      comm().barrier();
      const RawDataset v = read_raw(path, "/v");
      ASSERT_EQ(v.dims, (std::vector<hsize_t>{total, kCols}));
      for (hsize_t i = 0; i < total * kCols; ++i)
        EXPECT_EQ(raw_at<std::int64_t>(v, i), static_cast<std::int64_t>((i / kCols) * 10 + i % kCols))
            << "element " << i << " sparse " << sparse << " one_block " << one_block;
    }
}

TEST(RowArena, LayoutChoice) {
  // Scattered blocks get the sparse layout unless refused; contiguous ones never need it.
  EXPECT_TRUE(h5::RowArena({{0, 2}, {5, 1}}, 8).sparse());
  EXPECT_FALSE(h5::RowArena({{0, 2}, {5, 1}}, 8, false).sparse());
  EXPECT_FALSE(h5::RowArena({{0, 2}, {2, 1}}, 8).sparse());
  EXPECT_FALSE(h5::RowArena({}, 8).sparse());
  h5::RowArena a({{10, 2}, {20, 1}}, 8);
  EXPECT_EQ(a.row(20, 2) - a.row(10, 0), 80);  // at its file row, relative to the first
  h5::RowArena d({{10, 2}, {20, 1}}, 8, false);
  EXPECT_EQ(d.row(20, 2) - d.row(10, 0), 16);  // back to back
  EXPECT_EQ(*a.row(20, 2), std::byte{0});      // zeroed
}

}  // namespace
}  // namespace pm::test
