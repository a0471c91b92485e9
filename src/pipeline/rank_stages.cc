#include "rank_stages.h"

#include <exception>
#include <system_error>

#include "pixelmill/error.h"
#include "pixelmill/preprocess.h"

namespace pm::pipeline {
namespace {
// Batch tensors in flight: one filling, one computing, one spare. The inference queue
// holds at most that many, so it never blocks.
constexpr int kBatchPool = 3;
}  // namespace

RankStages::RankStages(Source& source, const ModelCard& card, const JobConfig& cfg,
                       EmbedderFactory make_embedder, RankStats& stats)
    : cfg_(cfg),
      splits_(static_cast<std::size_t>(cfg.threads.readers)),
      decode_queue_(static_cast<std::size_t>(cfg.batch * 2 + 4)),
      ready_(kBatchPool),
      assembler_(cfg.batch, kBatchPool, [&] { return make_batch_tensor(card, cfg.batch); }, ready_),
      error_([this] {
        splits_.close();
        decode_queue_.close();
        ready_.close();
        assembler_.abort();
        balancer_.gate().open();
      }),
      balancer_(cfg.threads.compute, cfg.threads.decode, cfg.threads.decode_started(), cfg.threads.decode_balanced),
      infer_(ready_, assembler_, tracker_, error_, stats, std::move(make_embedder),
             InferOptions{cfg.batch, cfg.embedding_output, card.embedding.dim, cfg.normalize_l2, &balancer_}),
      decode_(decode_queue_, assembler_, ready_, tracker_, error_, stats, balancer_, card, cfg.decode,
              cfg.make_annotator),
      read_(source, tracker_, splits_, decode_queue_, error_, stats, cfg.max_key_bytes) {}

RankStages::~RankStages() {
  // Normally everything has ended already; after an exception on the main thread the
  // threads are stopped here, so that none is left running (or joinable) behind it.
  cancel();
  join();
}

void RankStages::start(const ThreadSpawner& spawn) {
  const int readers = cfg_.threads.readers;
  const int decoders = cfg_.threads.decode_started();
  try {
    infer_.start(spawn);
    decode_.start(decoders, spawn);
    read_.start(readers, spawn);
  } catch (const std::system_error& e) {
    const int wanted = 1 + decoders + readers;
    const int started = infer_.started() + decode_.started() + read_.started();
    error_.capture(std::make_exception_ptr(
        Error("could not start thread " + std::to_string(started + 1) + " of " +
              std::to_string(wanted) + " (1 inference, " + std::to_string(decoders) + " decode, " +
              std::to_string(readers) + " readers): " + e.what() +
              "; lower --decode-threads or --scanners")));
  }
}

void RankStages::stop_reading() {
  read_.stop();
  splits_.close();
}

void RankStages::cancel() {
  error_.ignore_later();  // an error of this rank from now on is only the cancel's echo
  read_.stop();
  splits_.close();
  decode_queue_.close();
  ready_.close();
  assembler_.abort();
  balancer_.gate().open();
}

void RankStages::join() {
  read_.join();
  decode_.join();
  infer_.join();
}

}  // namespace pm::pipeline
