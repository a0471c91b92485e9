// Post-training static quantization, the engine's half: an fp32 ONNX model taken apart
// into the convolutions and matmuls that can be quantized, a copy of it that also outputs
// their activations (for calibration), and the QDQ model written from calibrated ranges.
//
// The QDQ layout is ONNX Runtime's `quantize_static(quant_format=QDQ, per_channel=True)`:
//   - each quantized Conv/Gemm/MatMul reads its activation through QuantizeLinear ->
//     DequantizeLinear (uint8, asymmetric, the calibrated range; one pair per activation,
//     shared by every quantized reader);
//   - its weight is an int8 initializer, symmetric ([-127, 127]), one scale per output
//     channel, behind DequantizeLinear;
//   - its bias an int32 initializer with scale = activation scale x weight scale (float32
//     where that does not fit int32).
// Weights stored in float16 behind Cast(to=float) count as initializers. Other nodes,
// names, inputs and outputs stay as they are, so the model's card still fits it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pixelmill/engine.h"

namespace pm::engine {

struct QuantTarget {
  std::string node;        // the node's name (unnamed nodes: "<op>_<index>", as the loader names them)
  std::string op;          // "Conv", "Gemm" or "MatMul"
  std::string activation;  // the tensor quantized at its input
  bool depthwise = false;  // a grouped Conv with one input channel per group
  std::int64_t weights = 0;
  std::int64_t stride = 1;  // product of a Conv's strides (output pixels = input pixels / stride)
};

// A uint8 quantization range: lo <= 0 <= hi (zero is exact).
struct ActivationRange {
  float lo = 0.f;
  float hi = 0.f;
};

class QdqModel {
 public:
  // Reads an fp32 ONNX file (opset >= 13, where DequantizeLinear takes an axis); throws
  // pm::Error for a file the engine cannot load or that already has Q/DQ nodes.
  explicit QdqModel(const std::string& onnx_path);
  ~QdqModel();
  QdqModel(const QdqModel&) = delete;
  QdqModel& operator=(const QdqModel&) = delete;

  const std::vector<QuantTarget>& targets() const;
  // The distinct activations of the targets, in graph order.
  const std::vector<std::string>& activations() const;

  // Activations between two convolutions, Conv -> [Relu] -> Conv with each edge the only
  // reader, whose channels can be rescaled without changing the model's output: channel c
  // of the first conv's output (weights and bias) divided by s_c and input channel c of the
  // second multiplied by s_c (exact in real arithmetic; Relu commutes with s_c > 0).
  std::vector<std::string> equalizable() const;
  // Rescales each of those activations from its per-channel maximum over calibration
  // (`channel_max`: activation -> one value per channel), so that one scale per tensor fits
  // its channels: fully where the second conv is depthwise (its per-channel weight scales
  // absorb s_c), balanced against the second conv's weights otherwise (s_c = sqrt(a_c / w_c),
  // w_c the largest |weight| of input channel c relative to its output channel's largest).
  // Activations not in the map are left alone. Later observer() and qdq_bytes() see the
  // rescaled model.
  void equalize(const std::map<std::string, std::vector<float>>& channel_max);

  // The model with activations() added as graph outputs after its own outputs.
  std::shared_ptr<const Model> observer(const EngineOptions& options) const;

  // The QDQ model (serialized ONNX) quantizing targets()[i] where quantize[i]; `ranges`
  // holds a range for the activation of each of those.
  std::string qdq_bytes(const std::map<std::string, ActivationRange>& ranges,
                        const std::vector<bool>& quantize) const;

  struct Impl;  // defined in the engine (quantize/qdq_model_impl.h)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pm::engine
