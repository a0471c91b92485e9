// What inference needs of the network: outputs for one batch tensor. One Embedder per
// inference thread, made on that thread by an EmbedderFactory (an engine session and the
// OpenMP thread count belong to the thread that runs them). The engine's in a real run;
// tests give their own (cheap, or failing on chosen images).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "pixelmill/engine.h"
#include "pixelmill/tensor.h"

namespace pm::pipeline {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // The graph outputs for `batch` ([n, ...] as the model card says), in graph-output order.
  // Throws pm::Error when the batch cannot be run: every image of it then gets an
  // inference_error row.
  virtual std::vector<Tensor> run(const Tensor& batch) = 0;
};

using EmbedderFactory = std::function<std::unique_ptr<Embedder>()>;

// Sessions of `model` running on `compute_threads` OpenMP threads.
EmbedderFactory engine_embedder(std::shared_ptr<const engine::Model> model, int compute_threads);

}  // namespace pm::pipeline
