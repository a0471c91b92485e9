// pm::h5::read_progress: the record of completed splits that lets a run stopped early, or
// killed, be continued (`extract --resume`). Written by the run writer (run_writer.cc).

#include <algorithm>
#include <string>
#include <utility>
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

namespace {

// /detections of a streamed run: each done split's detection rows lie in one range, the
// ranges of the done splits tile [0, sum) in some order, and the datasets hold at least
// that many rows. The commit point is that sum: rows past it belong to a round a kill cut
// short (after staged_detections, before staged_rows, was written) and --resume drops them.
void read_detections(const RunFile& f, Progress& p) {
  p.has_detections = true;
  const auto dim = f.int_attribute("/", "detection_dim");
  if (!dim || *dim < 0 || *dim > static_cast<std::int64_t>(layout::kMaxEmbeddingDim))
    f.fail("/", "has /detections but no valid 'detection_dim' attribute");
  p.detection_dim = *dim;
  const hsize_t splits = p.split_done.size();
  const Column count = f.column(layout::kSplitDetections, Element::kI64, 1, splits);
  const Column first = f.column(layout::kSplitFirstDetection, Element::kI64, 1, splits);
  p.split_detections = f.read<std::int64_t>(count, H5T_NATIVE_INT64, 0, splits);
  p.split_first_detection = f.read<std::int64_t>(first, H5T_NATIVE_INT64, 0, splits);
  std::vector<std::pair<std::int64_t, std::size_t>> starts;
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < splits; ++i) {
    if (!p.split_done[i]) {
      p.split_detections[i] = 0;
      p.split_first_detection[i] = -1;
      continue;
    }
    const std::int64_t a = p.split_first_detection[i], n = p.split_detections[i];
    if (a < 0 || n < 0 || n > layout::kMaxRows || a > layout::kMaxRows)
      f.fail(layout::kSplitDetections, "split " + std::to_string(i) + " has detection rows [" + std::to_string(a) +
                                           ", +" + std::to_string(n) + ")");
    if (n > 0) starts.emplace_back(a, i);
    sum += n;
  }
  std::sort(starts.begin(), starts.end());
  std::int64_t end = 0;
  for (const auto& [a, i] : starts) {
    if (a != end)
      f.fail(layout::kSplitFirstDetection, "split " + std::to_string(i) + " starts at detection " +
                                               std::to_string(a) + ", expected " + std::to_string(end));
    end = a + p.split_detections[i];
  }
  // Every column holds the committed rows (--resume would grow a shorter one with
  // whatever the file's unwritten chunks hold).
  for (const char* c : {layout::kDetImage, layout::kDetBox, layout::kDetScore, layout::kDetClass}) {
    Handle d = own_dataset(H5Dopen2(f.id(), c, H5P_DEFAULT), f.where(c) + ": opening");
    if (static_cast<std::int64_t>(extent(d.get()).rows) < sum)
      f.fail(c, "has fewer rows than the done splits' " + std::to_string(sum) + " detections");
  }
  if (p.detection_dim > 0) {
    const Column e = f.column(layout::kDetEmbedding, Element::kF32, 2, RunFile::kAny,
                              static_cast<hsize_t>(p.detection_dim));
    if (static_cast<std::int64_t>(e.rows) < sum)
      f.fail(layout::kDetEmbedding, "has fewer rows than the done splits' " + std::to_string(sum) + " detections");
  }
  p.staged_detections = sum;
}

}  // namespace

Progress read_progress(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  Progress p;
  const auto complete = f.int_attribute("/", "complete");
  if (!complete) {  // written before /progress existed: complete
    p.staged_rows = static_cast<std::int64_t>(check_images(f).rows);
    return p;
  }
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
  if (const auto rounds = f.int_attribute("/", "rounds"); rounds && *rounds >= 0) p.rounds = *rounds;

  // A streamed run (staged_rows present) may hold rows past its commit point, in any
  // column, after a kill; a file written in one go holds exactly what /progress says.
  const auto staged = f.int_attribute("/", "staged_rows");
  hsize_t image_rows = 0;
  if (staged) {
    const Column key = f.column(layout::kKey, Element::kU8, 2);
    image_rows = key.rows;
    if (*staged < 0 || *staged > static_cast<std::int64_t>(std::min<hsize_t>(key.rows, layout::kMaxRows)))
      f.fail("/", "attribute 'staged_rows' is " + std::to_string(*staged) + "; /images/key has " +
                      std::to_string(key.rows) + " rows");
    p.staged_rows = *staged;
    for (const char* c : {layout::kKeyLength, layout::kStatus, layout::kError, layout::kEmbedding,
                          layout::kContentHash, layout::kPhash, layout::kWidth, layout::kHeight,
                          layout::kTimestamp}) {
      Handle d = own_dataset(H5Dopen2(f.id(), c, H5P_DEFAULT), f.where(c) + ": opening");
      if (static_cast<std::int64_t>(extent(d.get()).rows) < *staged)
        f.fail(c, "has fewer rows than staged_rows " + std::to_string(*staged));
    }
  } else {
    image_rows = check_images(f).rows;
    p.staged_rows = static_cast<std::int64_t>(image_rows);
  }

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
  const bool has_first = f.has(layout::kSplitFirstRow);
  if (has_first) {
    const Column first = f.column(layout::kSplitFirstRow, Element::kI64, 1, done.rows);
    p.split_first_row = f.read<std::int64_t>(first, H5T_NATIVE_INT64, 0, first.rows);
  } else {
    p.split_first_row.assign(done.rows, -1);
  }
  for (std::size_t i = 0; i < p.split_done.size(); ++i)
    if (p.split_done[i] > 1)
      f.fail(layout::kSplitDone, "split " + std::to_string(i) + " is " +
                                     std::to_string(p.split_done[i]) + "; expected 0 or 1");

  if (staged) {
    // Each done split's rows must lie below the commit point and overlap no other's. A
    // split published past it (a kill between /progress and staged_rows) is not done.
    std::vector<std::pair<std::int64_t, std::size_t>> starts;
    for (std::size_t i = 0; i < p.split_done.size(); ++i) {
      const std::int64_t first = p.split_first_row[i], r = p.split_rows[i];
      if (!p.split_done[i]) continue;
      if (first < 0 || r < 0 || first > p.staged_rows || r > p.staged_rows - first) {
        p.split_done[i] = 0;
        continue;
      }
      starts.emplace_back(first, i);
    }
    std::sort(starts.begin(), starts.end());
    std::int64_t end = 0;
    for (const auto& [first, i] : starts) {
      if (first < end && p.split_rows[i] > 0)
        f.fail(layout::kSplitFirstRow, "split " + std::to_string(i) + " overlaps the rows of another");
      end = std::max(end, first + p.split_rows[i]);
    }
    for (std::size_t i = 0; i < p.split_done.size(); ++i)
      if (!p.split_done[i]) {
        p.split_rows[i] = 0;
        p.split_first_row[i] = -1;
      }
    if (f.has(layout::kSplitDetections)) read_detections(f, p);
    return p;
  }
  if (f.has(layout::kDetections)) f.fail(layout::kDetections, "in a file without staged_rows");

  // Written in one go: the done splits' rows follow each other in split order and add up
  // to /images (--resume reads each back by these counts).
  std::int64_t total = 0;
  for (std::size_t i = 0; i < p.split_done.size(); ++i) {
    const std::int64_t r = p.split_rows[i];
    if (r < 0 || (p.split_done[i] == 0 && r != 0) ||
        r > static_cast<std::int64_t>(image_rows) - total)
      f.fail(layout::kSplitRows, "split " + std::to_string(i) + " has " + std::to_string(r) +
                                     " rows; a done split has 0 or more rows within /images, "
                                     "a split not done 0");
    if (p.split_done[i]) {
      if (has_first && p.split_first_row[i] != total)
        f.fail(layout::kSplitFirstRow, "split " + std::to_string(i) + " starts at row " +
                                           std::to_string(p.split_first_row[i]) + ", not " +
                                           std::to_string(total));
      p.split_first_row[i] = total;
    }
    total += r;
  }
  if (total != static_cast<std::int64_t>(image_rows))
    f.fail(layout::kSplitRows, "the done splits hold " + std::to_string(total) +
                                   " rows, /images has " + std::to_string(image_rows));
  return p;
}

}  // namespace pm::h5
