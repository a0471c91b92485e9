// Private to pm_detect: one decoder per head kind, and the shape checks they share.
#pragma once

#include <string>
#include <vector>

#include "pixelmill/detect.h"

namespace pm::detect {

struct HeadInput {
  const DetectorSpec& spec;
  const std::vector<Tensor>& outputs;  // spec.outputs, in order
  std::int64_t row;
  int width, height;  // network input
  float min_score;
};

// outputs[i] as float32 of rank `rank` with dims[0] > row; throws naming the output.
const float* output_row(const HeadInput& in, std::size_t i, std::size_t rank);
[[noreturn]] void shape_error(const HeadInput& in, std::size_t i, const std::string& want);

void decode_yolox(const HeadInput& in, std::vector<Detection>& out);
void decode_gfl(const HeadInput& in, std::vector<Detection>& out);
void decode_centernet(const HeadInput& in, std::vector<Detection>& out);

}  // namespace pm::detect
