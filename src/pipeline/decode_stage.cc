#include "decode_stage.h"

#include <exception>

#include "pixelmill/hashes.h"
#include "pixelmill/preprocess.h"

namespace pm::pipeline {

DecodeStage::DecodeStage(BoundedQueue<DecodeItem>& in, BatchAssembler& assembler,
                         BoundedQueue<std::shared_ptr<Batch>>& ready, SplitTracker& tracker,
                         ErrorSlot& error, RankStats& stats, DecodeBalancer& balancer,
                         const ModelCard& card, const DecodeOptions& options, AnnotatorFactory make_annotator)
    : in_(in), assembler_(assembler), ready_(ready), tracker_(tracker), error_(error), stats_(stats),
      balancer_(balancer), card_(card), options_(options), make_annotator_(std::move(make_annotator)) {}

void DecodeStage::start(int threads, const ThreadSpawner& spawn) {
  left_ = threads;
  for (int i = 0; i < threads; ++i) threads_.push_back(spawn([this] { run(); }));
}

void DecodeStage::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

namespace {
// One record's pass through the gate, its thread CPU time handed to the balancer.
class GatePass {
 public:
  explicit GatePass(DecodeBalancer& b) : b_(b) {
    b_.gate().enter();
    start_ = thread_cpu_ns();
  }
  ~GatePass() {
    b_.add_decode(thread_cpu_ns() - start_);
    b_.gate().leave();
  }
  GatePass(const GatePass&) = delete;
  GatePass& operator=(const GatePass&) = delete;

 private:
  DecodeBalancer& b_;
  std::int64_t start_ = 0;
};
}  // namespace

void DecodeStage::run() {
  try {
    const std::unique_ptr<ObjectAnnotator> annotator = make_annotator_ ? make_annotator_() : nullptr;
    while (auto item = in_.pop()) {
      ImageResult& row = *item->row;
      const GatePass pass(balancer_);
      StageTimer timer(stats_, Stage::kDecode);
      row.content_hash = sha256(item->bytes);
      DecodedImage img = decode_image(item->bytes, options_);
      item->bytes.clear();
      row.width = img.width;
      row.height = img.height;
      if (!img.status.is_ok()) {
        row.status = std::move(img.status);
        stats_.count(row.status.code);
        tracker_.row_done(item->split);
        continue;
      }
      row.phash = perceptual_hash(img.rgb);
      if (annotator) {
        bool failed = false;
        std::string failure;
        try {
          annotator->annotate(img, row);
        } catch (const std::exception& e) {
          failed = true;
          failure = e.what();
        }
        if (failed) {
          row.objects.clear();
          row.status = Status::error(StatusCode::kInferenceError, "detector: " + failure);
          stats_.count(row.status.code);
          tracker_.row_done(item->split);
          continue;
        }
      }
      auto slot = assembler_.acquire(&row, item->split);
      bool ok = true;
      try {
        preprocess_into(img.rgb, card_, slot.batch->tensor, slot.index);
      } catch (const std::exception& e) {
        ok = false;
        row.objects.clear();  // a failed row has no objects
        row.status = Status::error(StatusCode::kCorrupt, std::string("preprocess: ") + e.what());
        stats_.count(row.status.code);
      }
      assembler_.commit(slot, ok);
      if (!ok) tracker_.row_done(item->split);  // a hole: inference will not see it
    }
  } catch (...) {
    error_.capture();
  }
  if (--left_ == 0) {
    assembler_.flush();
    ready_.close();
  }
}

}  // namespace pm::pipeline
