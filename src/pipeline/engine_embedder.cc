// The engine behind the Embedder interface: one session per inference thread.
#include <omp.h>

#include "embedder.h"

namespace pm::pipeline {
namespace {

class EngineEmbedder final : public Embedder {
 public:
  explicit EngineEmbedder(std::shared_ptr<const engine::Model> model) : session_(std::move(model)) {}
  std::vector<Tensor> run(const Tensor& batch) override { return session_.run({batch}); }

 private:
  engine::Session session_;
};

}  // namespace

EmbedderFactory engine_embedder(std::shared_ptr<const engine::Model> model, int compute_threads) {
  return [model = std::move(model), compute_threads]() -> std::unique_ptr<Embedder> {
    omp_set_num_threads(compute_threads);  // on the calling (inference) thread
    return std::make_unique<EngineEmbedder>(model);
  };
}

}  // namespace pm::pipeline
