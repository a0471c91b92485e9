// pm::h5::write_dedup: the /dedup group, written collectively into an existing file.
// group/exact_group come as one contiguous block of rows per rank; pairs and scores
// as each rank's share, placed after those of lower ranks (MPI_Exscan).
#include <algorithm>
#include <string>
#include <vector>

#include "pixelmill/agreed.h"
#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

void check_local(const DedupOutput& mine) {
  PM_CHECK(mine.first_row >= 0, "first_row is negative");
  PM_CHECK(mine.exact_group.size() == mine.group.size(),
           "exact_group has " + std::to_string(mine.exact_group.size()) + " rows, group " +
               std::to_string(mine.group.size()));
  PM_CHECK(mine.pairs.size() == 2 * mine.score.size(),
           "pairs holds " + std::to_string(mine.pairs.size()) + " values for " +
               std::to_string(mine.score.size()) + " scores");
  for (std::size_t i = 0; i < mine.score.size(); ++i)
    PM_CHECK(0 <= mine.pairs[2 * i] && mine.pairs[2 * i] < mine.pairs[2 * i + 1],
             "pair " + std::to_string(i) + " is not (i, j) with 0 <= i < j");
  PM_CHECK(mine.regrouped.size() % 2 == 0,
           "regrouped holds " + std::to_string(mine.regrouped.size()) + " values, not pairs");
  for (std::size_t i = 0; i < mine.regrouped.size(); i += 2)
    PM_CHECK(0 <= mine.regrouped[i + 1] && mine.regrouped[i + 1] < mine.regrouped[i],
             "regrouped record " + std::to_string(i / 2) + " is not (row, group) with group < row");
}

// Number of near-duplicate groups: components with at least two rows, i.e. distinct
// group ids that some other row points to. Rows of one group may sit on several
// ranks, so the ids are gathered and counted once.
std::int64_t count_groups(const Comm& comm, const DedupOutput& mine) {
  std::vector<std::int64_t> roots;
  for (std::size_t i = 0; i < mine.group.size(); ++i)
    if (mine.group[i] != mine.first_row + static_cast<std::int64_t>(i)) roots.push_back(mine.group[i]);
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  std::vector<std::int64_t> all = allgatherv_values(comm, roots);
  std::sort(all.begin(), all.end());
  return std::unique(all.begin(), all.end()) - all.begin();
}

}  // namespace

void write_dedup(const Comm& comm, const std::string& path, const DedupOutput& mine) {
  QuietErrors quiet;
  agreed(comm, "write_dedup: checking results", [&] { check_local(mine); });

  // The blocks must tile [0, N) in rank order (ranks without rows may say anything).
  const auto firsts = comm.allgather(mine.first_row);
  const auto counts = comm.allgather(static_cast<std::int64_t>(mine.group.size()));
  std::int64_t rows = 0;
  for (std::size_t r = 0; r < firsts.size(); ++r) {
    PM_CHECK(counts[r] == 0 || firsts[r] == rows,
             "write_dedup: rank " + std::to_string(r) + " starts at row " + std::to_string(firsts[r]) +
                 ", expected " + std::to_string(rows));
    rows += counts[r];
  }
  const auto local_pairs = static_cast<std::int64_t>(mine.score.size());
  const std::int64_t total_pairs = comm.allreduce_sum(local_pairs);
  const std::int64_t pair_offset = comm.exscan_sum(local_pairs);
  const auto local_regrouped = static_cast<std::int64_t>(mine.regrouped.size() / 2);
  const std::int64_t total_regrouped = comm.allreduce_sum(local_regrouped);
  const std::int64_t regrouped_offset = comm.exscan_sum(local_regrouped);
  const std::int64_t groups = count_groups(comm, mine);

  Handle fapl = collective_file_access(comm);
  // Opening is collective, its failure per rank (see write_images): agreed.
  Handle file;
  agreed(comm, "", [&] {
    file = own_file(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "opening " + path);
  });
  keep_checksummed_format(file.get());
  const hid_t f = file.get();
  if (exists(f, layout::kImages) && exists(f, layout::kKey)) {
    Handle keys = own_dataset(H5Dopen2(f, layout::kKey, H5P_DEFAULT), "opening /images/key");
    const auto images = static_cast<std::int64_t>(extent(keys.get()).rows);
    PM_CHECK(images == rows, "write_dedup: " + std::to_string(rows) + " rows of groups for " +
                                 std::to_string(images) + " rows of images");
  }
  // A rerun replaces the old results. (HDF5 does not reclaim the old group's space.)
  if (exists(f, layout::kDedup)) check(H5Ldelete(f, layout::kDedup, H5P_DEFAULT), "deleting /dedup");
  Handle group = create_group(f, layout::kDedup);
  Handle transfer = collective_transfer();

  const auto n = static_cast<hsize_t>(rows);
  const auto m = static_cast<hsize_t>(total_pairs);
  const std::vector<RowBlock> my_rows = {{static_cast<hsize_t>(mine.first_row), mine.group.size()}};
  const std::vector<RowBlock> my_pairs = {{static_cast<hsize_t>(pair_offset), mine.score.size()}};
  const auto k = static_cast<hsize_t>(total_regrouped);
  const std::vector<RowBlock> my_regrouped = {
      {static_cast<hsize_t>(regrouped_offset), static_cast<hsize_t>(local_regrouped)}};
  struct Column {
    const char* path;
    hid_t file_type;
    hid_t mem_type;
    hsize_t rows;
    hsize_t cols;
    const std::vector<RowBlock>& blocks;
    const void* data;
  };
  const Column columns[] = {
      {layout::kExactGroup, H5T_STD_I64LE, H5T_NATIVE_INT64, n, 0, my_rows, mine.exact_group.data()},
      {layout::kGroup, H5T_STD_I64LE, H5T_NATIVE_INT64, n, 0, my_rows, mine.group.data()},
      {layout::kPairs, H5T_STD_I64LE, H5T_NATIVE_INT64, m, 2, my_pairs, mine.pairs.data()},
      {layout::kScore, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, m, 0, my_pairs, mine.score.data()},
      {layout::kRegrouped, H5T_STD_I64LE, H5T_NATIVE_INT64, k, 2, my_regrouped,
       mine.regrouped.data()},
  };
  for (const Column& c : columns) {
    Handle dataset = create_rows(f, c.path, c.file_type, c.rows, c.cols);
    if (c.rows > 0) write_rows(dataset.get(), c.mem_type, c.cols, c.blocks, c.data, transfer.get());
  }
  write_attribute(group.get(), "threshold", mine.threshold);
  write_attribute(group.get(), "pairs", total_pairs);
  write_attribute(group.get(), "groups", groups);
  write_attribute(group.get(), "against", mine.against_json);
  write_attribute(group.get(), "join_precision", mine.join_precision);

  // The IVF quantizer, replaced like /dedup (an exact join leaves none).
  if (exists(f, layout::kIndex)) check(H5Ldelete(f, layout::kIndex, H5P_DEFAULT), "deleting /index");
  const int lists = static_cast<int>(comm.allreduce_max(static_cast<std::int64_t>(mine.lists)));
  if (lists > 0) {
    const int dim = static_cast<int>(comm.allreduce_max(static_cast<std::int64_t>(mine.dim)));
    const bool root = comm.rank() == 0;
    PM_CHECK(!root || (mine.centroids.size() == static_cast<std::size_t>(lists) * static_cast<std::size_t>(dim) &&
                       mine.list_sizes.size() == static_cast<std::size_t>(lists)),
             "write_dedup: the index's centroids or list sizes have the wrong size");
    Handle index = create_group(f, layout::kIndex);
    const std::vector<RowBlock> mine_all = {{0, root ? static_cast<hsize_t>(lists) : 0}};
    Handle c = create_rows(f, layout::kCentroids, H5T_IEEE_F32LE, static_cast<hsize_t>(lists),
                           static_cast<hsize_t>(dim));
    write_rows(c.get(), H5T_NATIVE_FLOAT, static_cast<hsize_t>(dim), mine_all,
               root ? mine.centroids.data() : nullptr, transfer.get());
    Handle sizes = create_rows(f, layout::kListSizes, H5T_STD_I64LE, static_cast<hsize_t>(lists), 0);
    write_rows(sizes.get(), H5T_NATIVE_INT64, 0, mine_all, root ? mine.list_sizes.data() : nullptr,
               transfer.get());
    PM_CHECK(mine.home.size() == mine.group.size(), "write_dedup: one home list per row expected");
    Handle home = create_rows(f, layout::kHome, H5T_STD_I32LE, n, 0);
    if (n > 0) write_rows(home.get(), H5T_NATIVE_INT32, 0, my_rows, mine.home.data(), transfer.get());
    write_attribute(index.get(), "lists", static_cast<std::int64_t>(lists));
    write_attribute(index.get(), "parameters", comm.broadcast(mine.index_json, 0));
  }
}

}  // namespace pm::h5
