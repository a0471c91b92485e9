// pm::h5::write_progress and read_progress: the record of completed splits that lets
// a run stopped early be continued (`extract --resume`).
#include "progress.h"

#include <string>
#include <vector>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

void write_progress(hid_t file, const std::vector<std::int64_t>& rows_of, int rank,
                    hid_t transfer) {
  const auto n = static_cast<hsize_t>(rows_of.size());
  std::vector<std::uint8_t> done(rows_of.size());
  std::vector<std::int64_t> rows(rows_of.size());
  for (std::size_t i = 0; i < rows_of.size(); ++i) {
    done[i] = rows_of[i] >= 0 ? 1 : 0;
    rows[i] = rows_of[i] >= 0 ? rows_of[i] : 0;
  }
  Handle group = own_group(H5Gcreate2(file, layout::kProgress, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           "creating /progress");
  Handle done_set = create_rows(file, layout::kSplitDone, H5T_STD_U8LE, n, 0);
  Handle rows_set = create_rows(file, layout::kSplitRows, H5T_STD_I64LE, n, 0);
  // Every rank holds the same table: rank 0 writes it, the others take part selecting
  // nothing. A plan of no splits has nothing to write on any rank.
  if (n == 0) return;
  std::vector<RowBlock> blocks;
  if (rank == 0) blocks.push_back({0, n});
  write_rows(done_set.get(), H5T_NATIVE_UINT8, 0, blocks, done.data(), transfer);
  write_rows(rows_set.get(), H5T_NATIVE_INT64, 0, blocks, rows.data(), transfer);
}

Progress read_progress(const std::string& path) {
  QuietErrors quiet;
  Handle file = open_read_only(path);
  const auto attrs = read_attributes(file.get());
  Progress p;
  const auto complete = attrs.find("complete");
  if (complete == attrs.end()) return p;  // written before /progress existed: complete
  p.complete = complete->second != "0";
  const auto get = [&](const char* name) {
    const auto it = attrs.find(name);
    PM_CHECK(it != attrs.end(), path + " has no '" + name + "' attribute");
    return it->second;
  };
  p.plan_sha256 = get("plan_sha256");
  p.plan_ranks = std::stoll(get("plan_ranks"));
  Extent e;
  {
    Handle done = open_dataset(file.get(), layout::kSplitDone);
    e = extent(done.get());
  }
  if (e.rows == 0) return p;
  p.split_done = read_column<std::uint8_t>(file.get(), layout::kSplitDone, H5T_NATIVE_UINT8,
                                           e.rows, 0, 0, e.rows);
  p.split_rows = read_column<std::int64_t>(file.get(), layout::kSplitRows, H5T_NATIVE_INT64,
                                           e.rows, 0, 0, e.rows);
  return p;
}

}  // namespace pm::h5
