// pm::h5::write_progress and read_progress: the record of completed splits that lets
// a run stopped early be continued (`extract --resume`).
#include "progress.h"

#include <string>
#include <vector>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "run_file.h"
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
  const RunFile f(path);
  Progress p;
  const auto complete = f.int_attribute("/", "complete");
  if (!complete) return p;  // written before /progress existed: complete
  if (*complete != 0 && *complete != 1)
    f.fail("/", "attribute 'complete' is " + std::to_string(*complete) + "; expected 0 or 1");
  p.complete = *complete == 1;
  const auto required = [&](const char* name) {
    f.fail("/", std::string("has no '") + name + "' attribute");
  };
  const auto sha = f.string_attribute("/", "plan_sha256");
  if (!sha) required("plan_sha256");
  p.plan_sha256 = *sha;
  const auto ranks = f.int_attribute("/", "plan_ranks");
  if (!ranks) required("plan_ranks");
  // --resume plans for this many ranks again: bounded to a count a job can have.
  if (*ranks < 1 || *ranks > kMaxPlanRanks)
    f.fail("/", "attribute 'plan_ranks' is " + std::to_string(*ranks) + "; expected 1.." +
                    std::to_string(kMaxPlanRanks));
  p.plan_ranks = *ranks;

  // /progress must account for exactly the rows of /images: --resume reads each done
  // split's rows back by these counts.
  const ImagesShape images = check_images(f);
  const Column done = f.column(layout::kSplitDone, Element::kU8, 1);
  const Column rows = f.column(layout::kSplitRows, Element::kI64, 1, done.rows);
  if (const auto splits = f.int_attribute("/", "splits");
      splits && *splits != static_cast<std::int64_t>(done.rows))
    f.fail(layout::kSplitDone, "has " + std::to_string(done.rows) +
                                   " splits, the root attribute 'splits' says " +
                                   std::to_string(*splits));
  if (done.rows == 0) return p;
  p.split_done = f.read<std::uint8_t>(done, H5T_NATIVE_UINT8, 0, done.rows);
  p.split_rows = f.read<std::int64_t>(rows, H5T_NATIVE_INT64, 0, rows.rows);
  std::int64_t total = 0;
  for (std::size_t i = 0; i < p.split_done.size(); ++i) {
    const std::int64_t r = p.split_rows[i];
    if (p.split_done[i] > 1)
      f.fail(layout::kSplitDone, "split " + std::to_string(i) + " is " +
                                     std::to_string(p.split_done[i]) + "; expected 0 or 1");
    if (r < 0 || (p.split_done[i] == 0 && r != 0) ||
        r > static_cast<std::int64_t>(images.rows) - total)
      f.fail(layout::kSplitRows, "split " + std::to_string(i) + " has " + std::to_string(r) +
                                     " rows; a done split has 0 or more rows within /images, "
                                     "a split not done 0");
    total += r;
  }
  if (total != static_cast<std::int64_t>(images.rows))
    f.fail(layout::kSplitRows, "the done splits hold " + std::to_string(total) +
                                   " rows, /images has " + std::to_string(images.rows));
  return p;
}

}  // namespace pm::h5
