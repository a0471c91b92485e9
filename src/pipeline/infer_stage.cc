#include "infer_stage.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

namespace pm::pipeline {
void normalize_l2(float* v, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += double(v[i]) * v[i];
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int i = 0; i < d; ++i) v[i] *= inv;
}

InferStage::InferStage(BoundedQueue<std::shared_ptr<Batch>>& ready, BatchAssembler& assembler,
                       SplitTracker& tracker, ErrorSlot& error, RankStats& stats,
                       EmbedderFactory make_embedder, const InferOptions& options)
    : ready_(ready), assembler_(assembler), tracker_(tracker), error_(error), stats_(stats),
      make_embedder_(std::move(make_embedder)), options_(options) {}

void InferStage::start(const ThreadSpawner& spawn) {
  try {
    thread_ = spawn([this] { run(); });
  } catch (...) {
    finished_ = true;
    throw;
  }
}

void InferStage::join() {
  if (thread_.joinable()) thread_.join();
}

void InferStage::run() {
  try {
    const std::unique_ptr<Embedder> embedder = make_embedder_();
    const int dim = options_.dim;
    const int at = options_.embedding_output;
    bool first = true;  // plans and JIT: not a cost per image; the wait for the first batch
    auto waiting = std::chrono::steady_clock::now();
    while (auto batch = ready_.pop()) {
      if (options_.balancer && !first)
        options_.balancer->add_infer_wait(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - waiting).count());
      auto& b = **batch;
      std::vector<Tensor> out;
      std::string failure;
      const std::int64_t cpu_start = thread_cpu_ns();
      {
        StageTimer timer(stats_, Stage::kInfer);
        try {
          // A partial batch (the end of the input) runs at its own size: one extra
          // cached plan instead of computing padding.
          Tensor input = b.tensor;
          if (b.reserved < options_.batch) {
            Dims shape = b.tensor.shape();
            shape[0] = b.reserved;
            input = Tensor::borrow(b.tensor.dtype(), shape, b.tensor.data());
          }
          out = embedder->run(input);
        } catch (const std::exception& e) {
          failure = e.what();
        }
      }
      if (options_.balancer && !first) options_.balancer->add_infer(thread_cpu_ns() - cpu_start, b.reserved);
      first = false;
      if (failure.empty()) {
        const Tensor& emb = out.at(at);
        if (emb.dtype() != DType::kF32 || emb.shape().size() != 2 || emb.shape()[0] != b.reserved ||
            emb.shape()[1] != dim)
          failure = "embedding output has shape " + dims_str(emb.shape()) + ", the card says [" +
                    std::to_string(b.reserved) + "," + std::to_string(dim) + "]";
      }
      for (int i = 0; i < b.reserved; ++i) {
        ImageResult* row = b.rows[i];
        if (!row) continue;  // a hole: its decoder reported it done
        if (!failure.empty()) {
          row->objects.clear();  // a failed row has no objects
          row->status = Status::error(StatusCode::kInferenceError, failure);
          stats_.count(row->status.code);
        } else {
          const float* src = out[at].ptr<float>() + std::size_t(i) * dim;
          row->embedding.assign(src, src + dim);
          if (options_.normalize_l2) normalize_l2(row->embedding.data(), dim);
          stats_.count(StatusCode::kOk);
        }
        tracker_.row_done(static_cast<SplitTracker::Split*>(b.tags[i]));
      }
      assembler_.release(std::move(*batch));
      waiting = std::chrono::steady_clock::now();
    }
  } catch (...) {
    error_.capture();
  }
  finished_ = true;
}

}  // namespace pm::pipeline
