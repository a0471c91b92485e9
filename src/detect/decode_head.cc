#include "heads.h"

#include "pixelmill/error.h"

namespace pm {
namespace detect {

[[noreturn]] void shape_error(const HeadInput& in, std::size_t i, const std::string& want) {
  throw Error("detector head '" + std::string(detector_head_name(in.spec.head)) + "': output '" +
              in.spec.outputs[i] + "' has shape " + dims_str(in.outputs[i].shape()) + ", expected " +
              want + " for a " + std::to_string(in.width) + "x" + std::to_string(in.height) +
              " input (does the card match the model?)");
}

const float* output_row(const HeadInput& in, std::size_t i, std::size_t rank) {
  const Tensor& t = in.outputs[i];
  if (t.dtype() != DType::kF32) shape_error(in, i, "float32");
  if (t.shape().size() != rank || t.shape()[0] <= in.row)
    shape_error(in, i, std::to_string(rank) + " dimensions and a row " + std::to_string(in.row));
  return t.ptr<float>() + in.row * (t.numel() / t.shape()[0]);
}

}  // namespace detect

std::vector<Detection> decode_head(const DetectorSpec& spec, const std::vector<Tensor>& outputs,
                                   std::int64_t row, int in_width, int in_height, float min_score) {
  if (outputs.size() != spec.outputs.size())
    throw Error("detector head: " + std::to_string(outputs.size()) + " outputs given, the card names " +
                std::to_string(spec.outputs.size()));
  const detect::HeadInput in{spec, outputs, row, in_width, in_height, min_score};
  std::vector<Detection> out;
  switch (spec.head) {
    case DetectorHead::kYolox: detect::decode_yolox(in, out); break;
    case DetectorHead::kGfl: detect::decode_gfl(in, out); break;
    case DetectorHead::kCenterNet: detect::decode_centernet(in, out); break;
  }
  return out;
}

}  // namespace pm
