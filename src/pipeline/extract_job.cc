#include "extract_job.h"

#include <omp.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "batch_assembler.h"
#include "bounded_queue.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/hashes.h"
#include "pixelmill/preprocess.h"
#include "progress_board.h"
#include "progress_reporter.h"
#include "split_tracker.h"
#include "pixelmill/vote.h"

namespace pm::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

struct DecodeItem {
  ImageResult* row = nullptr;
  SplitTracker::Split* split = nullptr;
  std::string bytes;
};

// Captures the first exception of any thread; the main thread rethrows it.
class ErrorSlot {
 public:
  explicit ErrorSlot(std::function<void()> on_first_error) : on_error_(std::move(on_first_error)) {}
  void capture() { capture(std::current_exception()); }
  void capture(std::exception_ptr e) {
    {
      std::lock_guard lock(mu_);
      if (error_) return;
      error_ = std::move(e);
    }
    on_error_();  // unblock every stage so that all threads can be joined
  }
  std::string message() const {
    std::lock_guard lock(mu_);
    if (!error_) return {};
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "unknown error";
    }
  }
  bool has() const {
    std::lock_guard lock(mu_);
    return error_ != nullptr;
  }
  void rethrow() const {
    std::lock_guard lock(mu_);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::function<void()> on_error_;
  mutable std::mutex mu_;
  std::exception_ptr error_;
};

// A key over the limit is not stored: it would widen the key column of every row (the
// column is as wide as the longest key) and, cut short, could name another record (an
// HBase row whose key is its prefix). The row stays, keyless, so that every input record
// appears exactly once; its message says how long the key was and how it begins.
Status key_too_long(const std::string& key, std::int64_t limit) {
  std::string start;
  for (std::size_t i = 0; i < key.size() && start.size() < 64; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      start += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      start += hex;
    }
  }
  return Status::error(StatusCode::kTooLarge,
                       "key of " + std::to_string(key.size()) + " bytes is over --max-key-bytes " +
                           std::to_string(limit) + "; not stored. It begins: " + start);
}

void normalize(float* v, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += double(v[i]) * v[i];
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int i = 0; i < d; ++i) v[i] *= inv;
}

}  // namespace

RankOutcome run_rank(const Comm& comm, Source& source,
                                   const std::vector<SplitSpec>& splits,
                                   std::shared_ptr<const engine::Model> model,
                                   const ModelCard& card, const JobConfig& cfg,
                                   RankStats& stats) {
  const int readers = cfg.threads.readers;
  BoundedQueue<const SplitSpec*> split_queue(static_cast<std::size_t>(readers));
  BoundedQueue<DecodeItem> decode_queue(static_cast<std::size_t>(cfg.batch * 2 + 4));
  const int pool = 3;  // batch tensors in flight: one filling, one computing, one spare
  BoundedQueue<std::shared_ptr<Batch>> ready(pool);  // never blocks: holds at most `pool`
  BatchAssembler assembler(cfg.batch, pool, [&] { return make_batch_tensor(card, cfg.batch); },
                           ready);
  ErrorSlot error([&] {
    split_queue.close();
    decode_queue.close();
    ready.close();
    assembler.abort();
  });
  // The last reader to finish closes the decode queue; the last decoder flushes the
  // partial batch and closes the inference queue; inference then drains and ends.
  std::atomic<int> readers_left{readers};
  std::atomic<int> decoders_left{cfg.threads.decode};
  std::atomic<bool> finished{false};
  std::atomic<bool> stopping{false};  // set by the main thread; readers stop reading

  SplitTracker tracker;

  // --- readers: one split at a time, records in key order ---
  auto reader = [&] {
    try {
      while (auto split = split_queue.pop()) {
        if (stopping) continue;  // claimed but not started: left for a resumed run
        SplitTracker::Split* st = tracker.begin((*split)->index);
        auto t = Clock::now();
        bool cut = false;
        source.read_split(**split, [&](Record&& rec) {
          stats.add_stage(Stage::kRead, Clock::now() - t);
          if (error.has()) return false;
          if (stopping) {
            cut = true;
            return false;
          }
          ImageResult& row = SplitTracker::add_row(st);
          row.timestamp = rec.timestamp;
          stats.bytes.fetch_add(static_cast<std::int64_t>(rec.bytes.size()),
                                std::memory_order_relaxed);
          const bool key_fits = static_cast<std::int64_t>(rec.key.size()) <= cfg.max_key_bytes;
          if (key_fits) row.key = std::move(rec.key);
          if (!key_fits) {
            row.status = key_too_long(rec.key, cfg.max_key_bytes);
            stats.count(row.status.code);
          } else if (!rec.status.is_ok()) {
            row.status = std::move(rec.status);
            stats.count(row.status.code);
          } else {
            SplitTracker::hand_on(st);
            if (!decode_queue.push(DecodeItem{&row, st, std::move(rec.bytes)})) {
              tracker.row_done(st);  // never decoded: the run is ending on an error
              return false;
            }
          }
          t = Clock::now();
          return true;
        });
        tracker.end(st, !cut);
      }
    } catch (...) {
      error.capture();
    }
    if (--readers_left == 0) decode_queue.close();
  };

  // --- decoders: hash, decode, perceptual hash, preprocess into a batch slot ---
  auto decoder = [&] {
    try {
      while (auto item = decode_queue.pop()) {
        ImageResult& row = *item->row;
        StageTimer timer(stats, Stage::kDecode);
        row.content_hash = sha256(item->bytes);
        DecodedImage img = decode_image(item->bytes, cfg.decode);
        item->bytes.clear();
        row.width = img.width;
        row.height = img.height;
        if (!img.status.is_ok()) {
          row.status = std::move(img.status);
          stats.count(row.status.code);
          tracker.row_done(item->split);
          continue;
        }
        row.phash = perceptual_hash(img.rgb);
        auto slot = assembler.acquire(&row, item->split);
        bool ok = true;
        try {
          preprocess_into(img.rgb, card, slot.batch->tensor, slot.index);
        } catch (const std::exception& e) {
          ok = false;
          row.status = Status::error(StatusCode::kCorrupt, std::string("preprocess: ") + e.what());
          stats.count(row.status.code);
        }
        assembler.commit(slot, ok);
        if (!ok) tracker.row_done(item->split);  // a hole: inference will not see it
      }
    } catch (...) {
      error.capture();
    }
    if (--decoders_left == 0) {
      assembler.flush();
      ready.close();
    }
  };

  // --- inference: one session, the rank's compute threads inside the engine ---
  auto infer = [&] {
    try {
      omp_set_num_threads(cfg.threads.compute);
      engine::Session session(model);
      const int dim = card.embedding.dim;
      while (auto batch = ready.pop()) {
        auto& b = **batch;
        std::vector<Tensor> out;
        std::string failure;
        {
          StageTimer timer(stats, Stage::kInfer);
          try {
            // A partial batch (the end of the input) runs at its own size: one extra
            // cached plan instead of computing padding.
            Tensor input = b.tensor;
            if (b.reserved < cfg.batch) {
              Dims shape = b.tensor.shape();
              shape[0] = b.reserved;
              input = Tensor::borrow(b.tensor.dtype(), shape, b.tensor.data());
            }
            out = session.run({input});
          } catch (const std::exception& e) {
            failure = e.what();
          }
        }
        if (failure.empty()) {
          const Tensor& emb = out.at(cfg.embedding_output);
          if (emb.dtype() != DType::kF32 || emb.shape().size() != 2 ||
              emb.shape()[0] != b.reserved || emb.shape()[1] != dim)
            failure = "embedding output has shape " + dims_str(emb.shape()) + ", the card says [" +
                      std::to_string(b.reserved) + "," + std::to_string(dim) + "]";
        }
        for (int i = 0; i < b.reserved; ++i) {
          ImageResult* row = b.rows[i];
          if (!row) continue;  // a hole: its decoder reported it done
          if (!failure.empty()) {
            row->status = Status::error(StatusCode::kInferenceError, failure);
            stats.count(row->status.code);
          } else {
            const float* src = out[cfg.embedding_output].ptr<float>() + std::size_t(i) * dim;
            row->embedding.assign(src, src + dim);
            if (cfg.normalize_l2) normalize(row->embedding.data(), dim);
            stats.count(StatusCode::kOk);
          }
          tracker.row_done(static_cast<SplitTracker::Split*>(b.tags[i]));
        }
        assembler.release(std::move(*batch));
      }
    } catch (...) {
      error.capture();
    }
    finished = true;
  };

  std::vector<std::thread> reader_threads, decode_threads;
  std::thread infer_thread;
  // A thread that cannot be started (the process or the node is out of threads) is this
  // rank's error like any other: the stages are closed, the threads already running are
  // joined below, and the ranks agree on it. A std::thread left joinable would terminate
  // the process instead.
  try {
    infer_thread = std::thread(infer);
    for (int i = 0; i < cfg.threads.decode; ++i) decode_threads.emplace_back(decoder);
    for (int i = 0; i < readers; ++i) reader_threads.emplace_back(reader);
  } catch (const std::system_error& e) {
    const int wanted = 1 + cfg.threads.decode + readers;
    const int started = static_cast<int>(infer_thread.joinable() + decode_threads.size() + reader_threads.size());
    error.capture(std::make_exception_ptr(
        Error("could not start thread " + std::to_string(started + 1) + " of " +
              std::to_string(wanted) + " (1 inference, " + std::to_string(cfg.threads.decode) +
              " decode, " + std::to_string(readers) + " readers): " + e.what() +
              "; lower --decode-threads or --scanners")));
    if (!infer_thread.joinable()) finished = true;
  }

  // --- main thread: claim splits, publish progress; the only thread that calls MPI ---
  SharedCounter counter(comm);
  ProgressBoard board(comm);
  std::unique_ptr<ProgressReporter> reporter;
  if (comm.rank() == 0 && !cfg.quiet) reporter = std::make_unique<ProgressReporter>(stderr, cfg.total_hint);
  auto last_publish = Clock::now();
  auto last_report = Clock::now();
  // Sleep, then publish this rank's stats (every 0.5 s) and, on rank 0, print progress.
  auto tick = [&](std::chrono::milliseconds pause) {
    std::this_thread::sleep_for(pause);
    if (Clock::now() - last_publish > std::chrono::milliseconds(500)) {
      stats.set_connection(source.connection_counters());
      board.publish(StatsSnapshot::of(stats));
      last_publish = Clock::now();
    }
    if (reporter && Clock::now() - last_report > std::chrono::duration<double>(cfg.progress_seconds)) {
      reporter->report(board.read_all(), false);
      last_report = Clock::now();
    }
  };
  // Stopping: this rank's own request (the signal flag, cheap to poll) is passed to the
  // other ranks through the counter; theirs arrive with the next claim or the periodic
  // look at the counter (every 0.5 s).
  auto begin_stop = [&](bool asked_here) {
    if (stopping) return;
    if (asked_here) counter.stop();
    stopping = true;
    split_queue.close();
    if (!cfg.quiet)
      std::fprintf(stderr, "pixelmill extract: rank %d: %s; finishing the batches in flight\n",
                   comm.rank(), asked_here ? "stop requested" : "another rank asked to stop");
  };
  auto poll_stop = [&](bool look_at_counter) {
    if (stopping) return;
    if (cfg.stop_requested && cfg.stop_requested())
      begin_stop(true);
    else if (look_at_counter && counter.stopped())
      begin_stop(false);
  };
  auto last_look = Clock::now();
  auto tick_stop = [&] {
    const bool look = Clock::now() - last_look > std::chrono::milliseconds(500);
    if (look) last_look = Clock::now();
    poll_stop(look);
  };
  // The loop claims splits while there are any, publishes progress, and takes part in a
  // running vote (pixelmill/vote.h) every kVoteEvery: whether any rank wants a checkpoint
  // round (its completed rows passed --checkpoint-mb, or --checkpoint-seconds passed since
  // the last round), whether any rank is still working, whether any rank failed. Every
  // rank sees the same results in the same order, so rounds, the end and a failure are
  // acted on by all ranks together, and no rank waits in a collective for one that left.
  constexpr auto kVoteEvery = std::chrono::milliseconds(200);
  Vote vote(comm);
  auto last_vote = Clock::now() - kVoteEvery;
  auto last_round = Clock::now();
  bool exhausted = false, someone_failed = false;
  std::int64_t rounds = 0;
  const auto want_round = [&] {
    if (!cfg.round) return false;  // rows are returned, not written in rounds
    const std::int64_t bytes = tracker.completed_bytes();
    return bytes >= cfg.checkpoint_bytes ||
           (bytes > 0 && Clock::now() - last_round >= std::chrono::duration<double>(cfg.checkpoint_seconds));
  };
  while (true) {
    bool claimed = false;
    if (!exhausted && !stopping && !error.has()) {
      poll_stop(false);
      if (!stopping && split_queue.size() < split_queue.capacity()) {
        const std::int64_t next = counter.next();
        if (next >= SharedCounter::kStopped) {
          begin_stop(false);
        } else if (next < 0 || static_cast<std::size_t>(next) >= splits.size()) {
          exhausted = true;
          split_queue.close();  // the readers end once they are through
        } else {
          split_queue.push(&splits[static_cast<std::size_t>(next)]);
          claimed = true;
        }
      }
    }
    // Done here: nothing more to claim (or a stop or an error), and inference has ended.
    const bool done_here = (exhausted || stopping || error.has()) && finished;
    if (!vote.running() && Clock::now() - last_vote >= kVoteEvery) {
      vote.start({want_round() ? 1 : 0, done_here ? 0 : 1, error.has() ? 1 : 0, 0});
      last_vote = Clock::now();
    }
    if (vote.running() && vote.test()) {
      const Vote::Values r = vote.result();
      if (r[2]) {
        someone_failed = true;
        break;
      }
      if (r[0]) {
        std::vector<SplitResults> round = tracker.take_completed();
        cfg.round(round);
        last_round = Clock::now();
        ++rounds;
      }
      if (!r[1]) break;  // every rank is done
      continue;
    }
    if (!claimed) {
      tick(std::chrono::milliseconds(20));
      tick_stop();
    }
  }
  // A rank that failed voted so; the others stop their stages (without an error of their
  // own) and every rank joins its threads before agreeing on the failure.
  if (someone_failed && !error.has()) {
    stopping = true;
    split_queue.close();
    decode_queue.close();
    ready.close();
    assembler.abort();
  }
  split_queue.close();
  for (auto& t : reader_threads) t.join();
  for (auto& t : decode_threads) t.join();
  infer_thread.join();
  stats.set_connection(source.connection_counters());
  board.publish(StatsSnapshot::of(stats));

  // Agree on success before anything collective follows: a rank that failed must not
  // leave the others waiting in a collective call.
  agree_on(comm, "", error.message());
  if (reporter) reporter->report(board.read_all(), true);

  RankOutcome outcome;
  outcome.stopped = comm.allreduce_max(std::int64_t{stopping ? 1 : 0}) > 0;
  // What completed since the last round: a last round (every rank takes part), or the
  // result when nothing is written in rounds. Splits cut short by a stop were dropped.
  outcome.done = tracker.take_completed();
  if (cfg.round) {
    cfg.round(outcome.done);
    outcome.done.clear();
    ++rounds;
  }
  outcome.rounds = rounds;
  return outcome;
}

}  // namespace pm::pipeline
