#include "precision_flags.h"

#include "pixelmill/error.h"

namespace pm::app {

void add_precision_flags(po::options_description& d, std::string& precision, bool* bf16) {
  d.add_options()
      ("precision", po::value(&precision)->default_value("auto"),
       "auto|fp32|bf16|int8, for each network against its own model card. auto: the fastest "
       "the card allows on every rank's CPU: its quantized sibling (card key 'quantized') in "
       "int8 where the CPUs have VNNI, else bf16 where the card lists it and the CPUs have "
       "AVX512_BF16/AMX, else fp32. int8: the --model's quantized sibling (refused without "
       "one: `pixelmill model quantize` makes it); a detector or crop model without one runs "
       "fp32. bf16: fp32 where a CPU lacks it. An int8 card takes auto or int8 only. The "
       "summary and the output file say what ran");
  if (bf16) d.add_options()("bf16", po::bool_switch(bf16), "the same as --precision bf16");
}

void apply_bf16_alias(const po::variables_map& vm, std::string& precision, bool bf16) {
  if (!bf16) return;
  if (!vm["precision"].defaulted() && precision != "bf16")
    throw Error("--bf16 is --precision bf16: it cannot go with --precision " + precision);
  precision = "bf16";
}

}  // namespace pm::app
