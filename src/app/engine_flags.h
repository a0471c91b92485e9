// Engine flags shared by the `model` tools (info, run, bench, detect).
#pragma once

#include "cli.h"
#include "pixelmill/engine.h"

namespace pm::app {

void add_engine_flags(po::options_description& d);
engine::EngineOptions engine_options(const po::variables_map& vm);

}  // namespace pm::app
