// `pixelmill model quantize` (cmd_model dispatches to it).
#pragma once

#include "cli.h"
#include "commands.h"

namespace pm::app {

int cmd_model_quantize(const Args& args, const char* synopsis);

}  // namespace pm::app
