// The .npy reader (`pixelmill model run --input`).
#include "fuzz_target.h"
#include "pixelmill/engine_tools.h"
#include "pixelmill/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pm::fuzz::TempFile f(data, size, ".npy");
  try {
    const pm::Tensor t = pm::engine::read_npy(f.path());
    if (t.nbytes() > size) __builtin_trap();  // the data must have come from the file
  } catch (const pm::Error&) {
  }
  return 0;
}
