// Private to pm_dedup: dedup --on crops (run_dedup hands over to it).
#pragma once

#include "pixelmill/comm.h"
#include "pixelmill/dedup.h"

namespace pm::dedup {

// Collective: joins the objects of /detections of options.input and writes /dedup_crops.
DedupSummary run_dedup_crops(const Comm& comm, const DedupOptions& options);

}  // namespace pm::dedup
