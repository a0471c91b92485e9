// Setup of `extract` before any work (extract.cc composes these): each check gives the
// same verdict on every rank for the same options, or runs under pm::agreed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "job_config.h"
#include "pixelmill/comm.h"
#include "pixelmill/engine.h"
#include "pixelmill/extract.h"
#include "pixelmill/model_card.h"
#include "pixelmill/model_precision.h"
#include "pixelmill/sources.h"
#include "thread_budget.h"

namespace pm::pipeline {

// Checks of the options alone: the same options give the same verdict on every rank.
void check_options(const ExtractOptions& o);

// Checks of what this rank will write (--output on every rank, --metrics-json on rank 0).
// Node-local views differ, so the verdict may differ between ranks: call under agreement.
void check_paths(const ExtractOptions& o, bool root);

// The input as recorded in the output: a directory by its absolute path.
std::string recorded_input(const std::string& input);

// What the source is opened with: the options' input filters and limits.
SourceOptions source_options(const Comm& comm, const ExtractOptions& o);

// The network and its card, checked against each other, at the precision --precision
// resolves to on `cpu` (what every rank's CPU runs); agreed by all ranks, which resolve
// alike.
struct LoadedModel {
  ModelCard card;  // the card of the file that runs (the quantized sibling's, for int8)
  std::shared_ptr<const engine::Model> model;
  int embedding_output = -1;  // index of the card's embedding among the model's outputs
  std::string onnx;           // the file that runs
  PrecisionChoice precision;  // what ran, and why
};
LoadedModel load_model(const Comm& comm, const ExtractOptions& o, const CpuCapabilities& cpu,
                       int compute_threads);

// What each rank's pipeline is asked to do (the output side is set by the caller).
void fill_job_config(const ExtractOptions& o, const ModelCard& card, const ThreadBudget& budget,
                     std::int64_t total, JobConfig& cfg);

}  // namespace pm::pipeline
