// The ONNX loader and everything Model::load runs on a file: parsing, checks, constant
// folding and shape inference; then the MAC count at a small batch.
#include "fuzz_target.h"
#include "pixelmill/engine.h"
#include "pixelmill/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pm::fuzz::TempFile f(data, size, ".onnx");
  try {
    const auto model = pm::engine::Model::load(f.path(), pm::engine::EngineOptions{});
    (void)model->summary();
  } catch (const pm::Error&) {
    // A clear refusal is the expected answer to a bad file; anything else escapes.
  }
  return 0;
}
