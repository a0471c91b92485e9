// --precision (and its alias --bf16) of the commands that embed images: extract,
// eval-dedup. pixelmill/model_precision.h decides what each network runs at.
#pragma once

#include <string>

#include "cli.h"

namespace pm::app {

// --precision into `precision` (default "auto"); with `bf16`, also --bf16.
void add_precision_flags(po::options_description& d, std::string& precision, bool* bf16 = nullptr);

// --bf16 is --precision bf16: applied to `precision`; throws pm::Error when --precision
// was given as something else. The value itself is checked by run_extract.
void apply_bf16_alias(const po::variables_map& vm, std::string& precision, bool bf16);

}  // namespace pm::app
