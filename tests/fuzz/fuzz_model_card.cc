// Model card parsing and validation.
#include "fuzz_target.h"
#include "pixelmill/error.h"
#include "pixelmill/model_card.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const pm::ModelCard c = pm::parse_model_card(std::string(pm::fuzz::bytes(data, size)), "fuzz.json");
    // A card that parses has what preprocessing divides by and sizes buffers with.
    if (c.input.width <= 0 || c.input.height <= 0 || c.embedding.dim <= 0) __builtin_trap();
  } catch (const pm::Error&) {
  }
  return 0;
}
