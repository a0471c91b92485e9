// The split plan codec that rank 0 broadcasts: decoding any bytes either throws pm::Error
// or gives a plan that encodes back to the same bytes.
#include "fuzz_target.h"
#include "pixelmill/error.h"
#include "pixelmill/source.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(pm::fuzz::bytes(data, size));
  std::vector<pm::SplitSpec> plan;
  try {
    plan = pm::decode_splits(in);
  } catch (const pm::Error&) {
    return 0;
  }
  if (pm::encode_splits(plan) != in) __builtin_trap();
  return 0;
}
