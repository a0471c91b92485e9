// Test doubles for the parts a rank's extraction runs on, no files, server or model:
// FakeSource (synthetic splits of small PNG images, each image's colour telling which
// record it is), FaultySource (the same, but the k-th record read on its rank throws),
// MemorySink (checkpoint rounds kept in memory) and FakeEmbedder (the "embedding" of an
// image is its first pixel; a poisoned image makes its batch fail).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "embedder.h"
#include "pixelmill/error.h"
#include "pixelmill/model_card.h"
#include "pixelmill/source.h"
#include "round_sink.h"

namespace pm::pipeline::testing {

constexpr int kSide = 8;  // images and network input are kSide x kSide
constexpr int kDim = 4;   // embedding dimension
constexpr std::uint8_t kPoison = 255;  // blue value of an image the embedder fails on

// A card for kSide x kSide uint8 NHWC RGB input and a kDim embedding, stored as given.
inline ModelCard fake_card() {
  ModelCard card;
  card.name = "fake";
  card.input.name = "image";
  card.input.dtype = DType::kU8;
  card.input.layout = TensorLayout::kNHWC;
  card.input.color = ColorOrder::kRGB;
  card.input.height = kSide;
  card.input.width = kSide;
  card.embedding.output = "embedding";
  card.embedding.dim = kDim;
  card.embedding.normalize = EmbeddingNorm::kNone;
  return card;
}

inline std::string record_key(std::uint64_t split, int record) {
  return "s" + std::to_string(split) + "/r" + std::to_string(record);
}

// The embedding the fake embedder gives record `record` of split `split`.
inline std::vector<float> expected_embedding(std::uint64_t split, int record) {
  return {static_cast<float>(split % 200), static_cast<float>(record % 200), 7.f, 1.f};
}

class FakeSource : public Source {
 public:
  // `splits` splits of `records` records each; each record takes `delay` to read.
  FakeSource(int splits, int records, std::chrono::microseconds delay = {})
      : splits_(splits), records_(records), delay_(delay) {}
  // Record `record` of split `split` is an image the FakeEmbedder fails on.
  void poison(std::uint64_t split, int record) { poisoned_.insert({split, record}); }

  std::vector<SplitSpec> plan() override {
    std::vector<SplitSpec> out(static_cast<std::size_t>(splits_));
    for (int i = 0; i < splits_; ++i) {
      out[static_cast<std::size_t>(i)].index = static_cast<std::uint64_t>(i);
      out[static_cast<std::size_t>(i)].estimated_records = records_;
    }
    return out;
  }
  void read_split(const SplitSpec& split, const std::function<bool(Record&&)>& emit) override {
    for (int j = 0; j < records_; ++j) {
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      before_record(split, j);
      Record rec;
      rec.key = record_key(split.index, j);
      rec.timestamp = static_cast<std::int64_t>(split.index) * 1000 + j;
      const bool poisoned = poisoned_.count({split.index, j}) > 0;
      const std::vector<float> e = expected_embedding(split.index, j);
      rec.bytes = png(static_cast<std::uint8_t>(e[0]), static_cast<std::uint8_t>(e[1]),
                      poisoned ? kPoison : static_cast<std::uint8_t>(e[2]));
      ++emitted_;
      if (!emit(std::move(rec))) return;
    }
  }
  std::string describe() const override { return "fake"; }

  std::int64_t emitted() const { return emitted_; }  // records handed to the pipeline so far
  int records_per_split() const { return records_; }

 protected:
  // Called before record `record` of `split` is made; the faulty source throws here.
  virtual void before_record(const SplitSpec&, int) {}
  std::atomic<std::int64_t> emitted_{0};

 private:
  static std::string png(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    const cv::Mat img(kSide, kSide, CV_8UC3, cv::Scalar(b, g, r));  // OpenCV is BGR
    std::vector<std::uint8_t> buf;
    if (!cv::imencode(".png", img, buf)) throw Error("test: cannot encode a PNG");
    return std::string(buf.begin(), buf.end());
  }

  const int splits_;
  const int records_;
  const std::chrono::microseconds delay_;
  std::set<std::pair<std::uint64_t, int>> poisoned_;
};

// A source whose `fail_at`-th record (0-based, counted over every split this source reads,
// that is over its rank) cannot be read: read_split throws, as a source does for a split
// that cannot be read at all.
class FaultySource final : public FakeSource {
 public:
  FaultySource(int splits, int records, std::int64_t fail_at, std::chrono::microseconds delay = {})
      : FakeSource(splits, records, delay), fail_at_(fail_at) {}
  static std::string message(std::int64_t fail_at) {
    return "faulty source: record " + std::to_string(fail_at) + " of this rank cannot be read";
  }

 protected:
  void before_record(const SplitSpec&, int) override {
    if (emitted_ == fail_at_) throw Error(message(fail_at_));
  }

 private:
  const std::int64_t fail_at_;
};

// Checkpoint rounds kept in memory: each write() is one round, as given.
class MemorySink final : public RoundSink {
 public:
  void write(std::vector<SplitResults>& done) override {
    rounds.push_back(std::move(done));
    done.clear();
  }
  std::vector<std::vector<SplitResults>> rounds;
};

// The "embedding" of each image is (R, G, B, 1) of its first pixel: cheap, and it tells
// which record it came from. A batch holding an image with blue = kPoison throws.
class FakeEmbedder final : public Embedder {
 public:
  std::vector<Tensor> run(const Tensor& batch) override {
    const std::int64_t n = batch.shape().at(0);
    const std::int64_t stride = batch.shape().at(1) * batch.shape().at(2) * batch.shape().at(3);
    const std::uint8_t* px = batch.ptr<std::uint8_t>();
    Tensor other(DType::kF32, {n, 1});  // graph output 0: not the embedding
    Tensor emb(DType::kF32, {n, kDim});
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint8_t* p = px + i * stride;
      if (p[2] == kPoison) throw Error("fake embedder: poisoned image");
      float* e = emb.ptr<float>() + i * kDim;
      e[0] = p[0];
      e[1] = p[1];
      e[2] = p[2];
      e[3] = 1.f;
    }
    return {other, emb};
  }
};

inline EmbedderFactory fake_embedder() {
  return [] { return std::make_unique<FakeEmbedder>(); };
}

}  // namespace pm::pipeline::testing
