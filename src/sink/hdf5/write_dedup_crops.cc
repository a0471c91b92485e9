// pm::h5::write_dedup_crops: the /dedup_crops group (dedup --on crops), written
// collectively into an existing file beside /detections.
#include <string>
#include <vector>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

void write_dedup_crops(const Comm& comm, const std::string& path, const CropDedupOutput& mine) {
  QuietErrors quiet;
  agreed(comm, "write_dedup_crops: checking results", [&] {
    PM_CHECK(mine.pairs.size() == 2 * mine.score.size(), "pairs and scores differ in length");
    PM_CHECK(mine.image_pairs.size() == 2 * mine.image_score.size(), "image pairs and scores differ in length");
    for (std::size_t i = 0; i < mine.score.size(); ++i)
      PM_CHECK(0 <= mine.pairs[2 * i] && mine.pairs[2 * i] < mine.pairs[2 * i + 1], "a pair is not (i, j), i < j");
    for (std::size_t i = 0; i < mine.image_score.size(); ++i)
      PM_CHECK(0 <= mine.image_pairs[2 * i] && mine.image_pairs[2 * i] < mine.image_pairs[2 * i + 1],
               "an image pair is not (i, j), i < j");
  });
  const auto firsts = comm.allgather(mine.first);
  const auto counts = comm.allgather(static_cast<std::int64_t>(mine.group.size()));
  std::int64_t rows = 0;
  for (std::size_t r = 0; r < firsts.size(); ++r) {
    PM_CHECK(counts[r] == 0 || firsts[r] == rows, "write_dedup_crops: the ranks' blocks do not tile the detections");
    rows += counts[r];
  }
  const auto local_pairs = static_cast<std::int64_t>(mine.score.size());
  const auto local_images = static_cast<std::int64_t>(mine.image_score.size());
  const std::int64_t total_pairs = comm.allreduce_sum(local_pairs), pair_offset = comm.exscan_sum(local_pairs);
  const std::int64_t total_images = comm.allreduce_sum(local_images), image_offset = comm.exscan_sum(local_images);

  Handle fapl = collective_file_access(comm);
  Handle file;
  agreed(comm, "", [&] { file = own_file(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "opening " + path); });
  keep_checksummed_format(file.get());
  const hid_t f = file.get();
  Handle image = own_dataset(H5Dopen2(f, layout::kDetImage, H5P_DEFAULT), "opening /detections/image");
  PM_CHECK(static_cast<std::int64_t>(extent(image.get()).rows) == rows,
           "write_dedup_crops: " + std::to_string(rows) + " groups for " + std::to_string(extent(image.get()).rows) +
               " detections");
  if (exists(f, layout::kDedupCrops)) check(H5Ldelete(f, layout::kDedupCrops, H5P_DEFAULT), "deleting /dedup_crops");
  Handle group = create_group(f, layout::kDedupCrops);
  Handle transfer = collective_transfer();
  const std::vector<RowBlock> my_rows = {{static_cast<hsize_t>(mine.first), mine.group.size()}};
  const std::vector<RowBlock> my_pairs = {{static_cast<hsize_t>(pair_offset), mine.score.size()}};
  const std::vector<RowBlock> my_images = {{static_cast<hsize_t>(image_offset), mine.image_score.size()}};
  struct Out {
    const char* path;
    hid_t file_type, mem_type;
    hsize_t rows, cols;
    const std::vector<RowBlock>& blocks;
    const void* data;
  };
  const Out outs[] = {
      {layout::kCropGroup, H5T_STD_I64LE, H5T_NATIVE_INT64, static_cast<hsize_t>(rows), 0, my_rows, mine.group.data()},
      {layout::kCropPairs, H5T_STD_I64LE, H5T_NATIVE_INT64, static_cast<hsize_t>(total_pairs), 2, my_pairs,
       mine.pairs.data()},
      {layout::kCropScore, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, static_cast<hsize_t>(total_pairs), 0, my_pairs,
       mine.score.data()},
      {layout::kCropImagePairs, H5T_STD_I64LE, H5T_NATIVE_INT64, static_cast<hsize_t>(total_images), 2, my_images,
       mine.image_pairs.data()},
      {layout::kCropImageScore, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, static_cast<hsize_t>(total_images), 0, my_images,
       mine.image_score.data()},
  };
  for (const Out& o : outs) {
    Handle d = create_rows(f, o.path, o.file_type, o.rows, o.cols);
    if (o.rows > 0) write_rows(d.get(), o.mem_type, o.cols, o.blocks, o.data, transfer.get());
  }
  write_attribute(group.get(), "threshold", mine.threshold);
  write_attribute(group.get(), "pairs", total_pairs);
  write_attribute(group.get(), "groups", comm.allreduce_max(mine.groups));
  write_attribute(group.get(), "image_pairs", total_images);
  write_attribute(group.get(), "join_precision", mine.join_precision);
}

}  // namespace pm::h5
