// Plain (non-collective) reading of /detections through RunFile: types and shapes checked
// against the layout, every image id checked to be a row of /images.
#include <algorithm>
#include <string>
#include <vector>

#include "h5_file.h"
#include "h5_handle.h"
#include "run_file.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

struct DetectionsShape {
  hsize_t rows = 0;
  hsize_t dim = 0;
  hsize_t images = 0;
};

DetectionsShape check_detections(const RunFile& f) {
  if (!f.has(layout::kDetections))
    f.fail("/", "has no /detections (it was not written by extract --detector)");
  DetectionsShape s;
  s.images = check_images(f).rows;
  const Column image = f.column(layout::kDetImage, Element::kI64, 1);
  s.rows = image.rows;
  f.column(layout::kDetBox, Element::kF32, 2, s.rows, 4);
  f.column(layout::kDetScore, Element::kF32, 1, s.rows);
  f.column(layout::kDetClass, Element::kI32, 1, s.rows);
  if (f.has(layout::kDetEmbedding)) {
    const Column e = f.column(layout::kDetEmbedding, Element::kF32, 2, s.rows);
    if (e.cols < 1 || e.cols > layout::kMaxEmbeddingDim)
      f.fail(layout::kDetEmbedding, "has " + std::to_string(e.cols) + " columns");
    s.dim = e.cols;
  }
  return s;
}

void check_images_ids(const RunFile& f, const std::vector<std::int64_t>& ids, hsize_t images) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || static_cast<hsize_t>(ids[i]) >= images)
      f.fail(layout::kDetImage, "names row " + std::to_string(ids[i]) + " of " + std::to_string(images) +
                                    " rows of /images");
}

}  // namespace

std::int64_t detection_count(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  if (!f.has(layout::kDetections)) return 0;
  return static_cast<std::int64_t>(check_detections(f).rows);
}

DetectionRows read_detections(const std::string& path, std::int64_t begin, std::int64_t end,
                              bool with_embeddings) {
  QuietErrors quiet;
  const RunFile f(path);
  const DetectionsShape s = check_detections(f);
  check_row_range(f, "read_detections", begin, end, s.rows);
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);
  DetectionRows out;
  out.first = begin;
  out.total = static_cast<std::int64_t>(s.rows);
  out.dim = static_cast<int>(s.dim);
  out.image = f.read<std::int64_t>(f.column(layout::kDetImage, Element::kI64, 1), H5T_NATIVE_INT64, first, count);
  check_images_ids(f, out.image, s.images);
  out.box = f.read<float>(f.column(layout::kDetBox, Element::kF32, 2, s.rows, 4), H5T_NATIVE_FLOAT, first, count);
  out.score = f.read<float>(f.column(layout::kDetScore, Element::kF32, 1, s.rows), H5T_NATIVE_FLOAT, first, count);
  if (with_embeddings && s.dim > 0)
    out.embedding = f.read<float>(f.column(layout::kDetEmbedding, Element::kF32, 2, s.rows, s.dim),
                                  H5T_NATIVE_FLOAT, first, count);
  return out;
}

std::vector<std::int64_t> read_detection_images(const std::string& path, const std::vector<std::int64_t>& ids) {
  QuietErrors quiet;
  const RunFile f(path);
  const DetectionsShape s = check_detections(f);
  std::vector<std::int64_t> out(ids.size());
  if (ids.empty()) return out;
  for (std::size_t i = 0; i < ids.size(); ++i)
    PM_CHECK(ids[i] >= 0 && static_cast<hsize_t>(ids[i]) < s.rows && (i == 0 || ids[i - 1] < ids[i]),
             "read_detection_images: ids must ascend within the detections");
  const Column image = f.column(layout::kDetImage, Element::kI64, 1);
  Handle space = own_space(H5Dget_space(image.dataset.get()), "H5Dget_space");
  const std::vector<hsize_t> at(ids.begin(), ids.end());
  check(H5Sselect_elements(space.get(), H5S_SELECT_SET, at.size(), at.data()), "H5Sselect_elements");
  const hsize_t n = at.size();
  Handle mem = own_space(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
  check(H5Dread(image.dataset.get(), H5T_NATIVE_INT64, mem.get(), space.get(), H5P_DEFAULT, out.data()),
        f.where(layout::kDetImage) + ": reading");
  check_images_ids(f, out, s.images);
  return out;
}

CropImagePairs read_crop_image_pairs(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  CropImagePairs out;
  if (!f.has(layout::kDedupCrops)) return out;
  const hsize_t images = check_images(f).rows;
  const hsize_t objects = check_detections(f).rows;
  const Column group = f.column(layout::kCropGroup, Element::kI64, 1, objects);
  out.group = f.read<std::int64_t>(group, H5T_NATIVE_INT64, 0, objects);
  for (std::size_t k = 0; k < out.group.size(); ++k)
    if (out.group[k] < 0 || static_cast<hsize_t>(out.group[k]) >= objects)
      f.fail(layout::kCropGroup, "detection " + std::to_string(k) + " names group " + std::to_string(out.group[k]) +
                                     " of " + std::to_string(objects) + " detections");
  const Column pairs = f.column(layout::kCropImagePairs, Element::kI64, 2, RunFile::kAny, 2);
  const Column score = f.column(layout::kCropImageScore, Element::kF32, 1, pairs.rows);
  out.pairs = f.read<std::int64_t>(pairs, H5T_NATIVE_INT64, 0, pairs.rows);
  out.score = f.read<float>(score, H5T_NATIVE_FLOAT, 0, score.rows);
  for (std::size_t k = 0; k + 1 < out.pairs.size(); k += 2)
    if (out.pairs[k] < 0 || out.pairs[k] >= out.pairs[k + 1] || static_cast<hsize_t>(out.pairs[k + 1]) >= images)
      f.fail(layout::kCropImagePairs, "pair " + std::to_string(k / 2) + " is not (i, j) with 0 <= i < j < " +
                                          std::to_string(images));
  return out;
}

}  // namespace pm::h5
