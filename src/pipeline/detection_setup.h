// Setup of `extract --detector`: the detector and the crop model loaded and checked against
// their cards, the run's detection flags over the card's defaults, and what the output
// records of them. Agreed by all ranks.
#pragma once

#include <memory>
#include <string>

#include "extract_setup.h"
#include "object_annotator.h"
#include "pixelmill/comm.h"
#include "pixelmill/extract.h"
#include "pixelmill/hdf5_io.h"

namespace pm::pipeline {

// Checks of the detection flags alone (the same verdict on every rank).
void check_detection_options(const ExtractOptions& o);

// Null without --detector. The detector and crop model run in the decode threads, each
// session on `threads` OpenMP threads, each at the precision --precision resolves to
// against its own card on `cpu` (an explicit int8 runs fp32 where a card has no
// quantized sibling).
std::shared_ptr<const DetectionJob> load_detection(const Comm& comm, const ExtractOptions& o,
                                                   const CpuCapabilities& cpu, int threads);

// What identifies the detection of a run for --resume ("" without --detector): the
// models' sha256 (of the files that ran), their precisions and the flags that change what
// is found.
std::string detection_identity(const DetectionJob* job);

// The /detections attributes and dimension of the run file.
void set_detection_attributes(const DetectionJob* job, h5::RunAttributes& attrs);

}  // namespace pm::pipeline
