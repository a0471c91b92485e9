// The images of a quantization run: a fixed-seed sample of a dir:/list: source, decoded
// and preprocessed as the card says, split into calibration batches and check batches
// (each check image whole and as two fixed-seed crops of 25-70 % of each side).
#pragma once

#include <string>
#include <vector>

#include "pixelmill/quantize.h"
#include "pixelmill/tensor.h"

namespace pm::quantize {

struct CalibrationImages {
  std::vector<Tensor> calibration;  // input batches of at most options.batch images
  std::vector<Tensor> check;
  int calibration_count = 0;
  int check_count = 0;       // images; check holds each whole and as crops
  int check_crops = 0;
  int skipped = 0;          // files of the sample that could not be read or decoded
  std::string sha256;       // over the calibration images' keys and bytes, in order
};

CalibrationImages load_calibration_images(const ModelCard& card, const QuantizeOptions& options);

}  // namespace pm::quantize
