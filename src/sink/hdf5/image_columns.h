// The /images datasets as the writers see them: path, element type and width, and how an
// ImageResult fills its row. One list for the round writer and the final reorder, so a
// column added to the layout is written everywhere.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "h5_handle.h"
#include "pixelmill/image_result.h"

namespace pm::h5 {

struct ImageColumn {
  const char* path;
  hid_t file_type;        // owned by `types` of the list, or a predefined HDF5 type
  hid_t mem_type;
  std::size_t elem_size;  // bytes of one element in memory
  hsize_t cols;           // 0: one element a row; else elements a row (key: the key width)
  bool is_key = false;    // its width grows with the longest key; zero-filled
  // Writes one row's elements into zeroed storage of cols (or 1) elements.
  std::function<void(const ImageResult&, void* out)> fill;
};

struct ImageColumns {
  std::vector<ImageColumn> columns;
  std::vector<Handle> types;  // the fixed-length string type of /images/error
};

// The columns for embeddings of `dim` values and keys of `key_width` bytes.
ImageColumns image_columns(hsize_t dim, hsize_t key_width);

// The /detections datasets: one row per detected object, written like /images rows.
struct DetectionColumn {
  const char* path;
  hid_t file_type;
  hid_t mem_type;
  std::size_t elem_size;
  hsize_t cols;  // 0: one element a row
  bool is_image = false;  // /detections/image: a row of /images, moved with it by a reorder
  // Writes one object's elements; `image_row` is its image's row in /images.
  std::function<void(const ObjectResult&, std::int64_t image_row, void* out)> fill;
};

// The columns for crop embeddings of `dim` values (0: boxes only, no embedding column).
std::vector<DetectionColumn> detection_columns(hsize_t dim);

}  // namespace pm::h5
