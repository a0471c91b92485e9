// `pixelmill model detect`, and the detection flags that `extract --detector` shares.
#pragma once

#include "cli.h"
#include "commands.h"
#include "pixelmill/detector.h"

namespace pm::app {

// --min-score, --nms-iou, --max-detections, --classes.
void add_detect_flags(po::options_description& d);
// Those flags over the card's defaults; `max_flag` names the flag that caps boxes per image.
DetectParams detect_params(const po::variables_map& vm, const DetectorSpec& spec, const char* max_flag);

int cmd_model_detect(const Args& args, const char* synopsis);

}  // namespace pm::app
