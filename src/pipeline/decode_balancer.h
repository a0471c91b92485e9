// How many of a rank's decode threads decode at once, balanced from measured stage costs.
//
// A rank's inference runs on its compute threads (OpenMP); decoding (decode, hashes,
// preprocessing) on decode threads; they share the rank's cores. With d decode
// CPU-seconds per image and c CPU-seconds per image for everything else (inference
// above all), the rank finishes at most cores / (d + c) images per second, and k decode
// threads keep up with that only if k / d >= cores / (d + c), i.e.
//
//     k >= need = cores * d / (d + c).
//
// Fewer decoders starve inference (its cores idle while it waits for a batch); more only
// take cores from the OpenMP team while it computes (a team waits at every barrier for a
// thread that a decoder preempted). A fixed split is right for one (d, c) only, and d
// and c change with the photos (size, format, DCT reduction) and the precision (int8
// makes inference cheaper, so decoding a larger share).
//
// So a rank may start more decode threads than it lets decode at a time: a DecodeGate lets
// `limit` of them in per record. The decoders add each record's thread CPU time (d); the
// inference thread adds each batch's thread CPU time times its team's size (c: the OpenMP
// team computes while the inference thread does, and the time it spins between batches
// waiting for input is not counted, or a decode-bound rank would look inference-bound);
// every interval the rank's main loop calls DecodeBalancer::update, which sets the limit
// to balanced_decoders(): the smallest k >= need (10 % headroom to grow, none to shrink
// before k - 1 has 10 % to spare, so that noise does not flap it), within [1, max].
// CPU time overstates c where decoders and the OpenMP team share cores (a team thread
// waits at a barrier, spinning, for one a decoder preempted), so the rate is checked
// against what inference saw: an inference thread that waited for input more than 10 % of
// the interval gets one more decoder whatever the costs say, and the limit only falls
// while inference waited less than 5 %.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pm::pipeline {

// The balancing rule (pure): the new number of active decoders, given the decode and the
// other CPU-seconds per image, the rank's cores, the most decoders started and the
// current number. Unchanged when a cost is not known yet (no image, no time).
int balanced_decoders(double decode_cpu_per_image, double other_cpu_per_image, int cores,
                      int max_decoders, int current);

// The calling thread's CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID): the clock both
// stages measure the balancer's costs with.
std::int64_t thread_cpu_ns();

// A counting gate with a limit that can change while threads wait.
class DecodeGate {
 public:
  explicit DecodeGate(int limit) : limit_(limit) {}
  // Blocks while `limit` threads are inside (returns at once once opened).
  void enter();
  void leave();
  void set_limit(int limit);
  // No limit from now on: a stop or an error must not leave a decoder waiting here.
  void open();
  int limit() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int limit_;
  int inside_ = 0;
  bool open_ = false;
};

// What the balancing did over the run (for the summary): the active decoders at the
// end, and the fewest and most the run had.
struct DecodeBalance {
  bool balanced = false;
  int started = 0;
  int last = 0;
  int fewest = 0;
  int most = 0;
};

class DecodeBalancer {
 public:
  // `started` decode threads, `initial` of them let in at once; balanced when asked and
  // started > 1, fixed at `initial` otherwise.
  DecodeBalancer(int cores, int initial, int started, bool balanced);

  DecodeGate& gate() { return gate_; }
  // A decoder's CPU time for one record (its own thread's clock).
  void add_decode(std::int64_t cpu_ns) {
    decode_ns_.fetch_add(cpu_ns, std::memory_order_relaxed);
    decoded_.fetch_add(1, std::memory_order_relaxed);
  }
  // The inference thread's CPU time for one batch of `images` (its own clock; the team
  // is `cores` threads).
  void add_infer(std::int64_t cpu_ns, int images) {
    infer_ns_.fetch_add(cpu_ns, std::memory_order_relaxed);
    inferred_.fetch_add(images, std::memory_order_relaxed);
  }
  // The inference thread's wait for its next batch (wall time).
  void add_infer_wait(std::int64_t ns) { infer_wait_ns_.fetch_add(ns, std::memory_order_relaxed); }
  // From the rank's main loop, every interval: the costs since the last update; a new limit.
  void update() { update_at(std::chrono::steady_clock::now()); }
  void update_at(std::chrono::steady_clock::time_point now);  // tests give the time
  DecodeBalance summary() const;

 private:
  const int cores_;
  const int started_;
  const bool balanced_;
  DecodeGate gate_;
  std::atomic<std::int64_t> decode_ns_{0};
  std::atomic<std::int64_t> decoded_{0};
  std::atomic<std::int64_t> infer_ns_{0};
  std::atomic<std::int64_t> inferred_{0};
  std::atomic<std::int64_t> infer_wait_ns_{0};
  // The main loop's state (one thread).
  std::int64_t last_decode_ns_ = 0, last_decoded_ = 0, last_infer_ns_ = 0, last_inferred_ = 0,
               last_wait_ns_ = 0;
  std::chrono::steady_clock::time_point last_update_ = std::chrono::steady_clock::now();
  double d_ = 0, c_ = 0;  // smoothed CPU-seconds per image
  std::atomic<int> fewest_, most_;
};

}  // namespace pm::pipeline
