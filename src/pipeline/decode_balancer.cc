#include "decode_balancer.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace pm::pipeline {

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
namespace {
constexpr double kGrowHeadroom = 0.10;    // grow once need exceeds k by 0.1 of a thread
constexpr double kShrinkHeadroom = 0.10;  // shrink to k' only if need * 1.1 <= k'
constexpr std::int64_t kMinImages = 8;    // images an estimate is made from, at least
constexpr double kSmoothing = 0.5;        // weight of the newest interval
constexpr double kStarved = 0.10;         // inference waited for input this share of the interval
constexpr double kBusy = 0.05;            // ... or less: the limit may fall

}  // namespace

int balanced_decoders(double d, double c, int cores, int max_decoders, int current) {
  if (!(d > 0) || !(c >= 0) || !std::isfinite(d) || !std::isfinite(c) || cores < 1 || max_decoders < 1)
    return current;
  const double need = cores * d / (d + c);
  int k = current;
  // Grow as soon as the decoders fall short by more than the headroom...
  const int grow = static_cast<int>(std::ceil(need - kGrowHeadroom));
  if (grow > k) k = grow;
  // ... shrink only where fewer would still have the headroom to spare.
  const int shrink = static_cast<int>(std::ceil(need * (1 + kShrinkHeadroom)));
  if (shrink < k) k = shrink;
  return std::clamp(k, 1, max_decoders);
}

void DecodeGate::enter() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return open_ || inside_ < limit_; });
  ++inside_;
}

void DecodeGate::leave() {
  {
    std::lock_guard lock(mutex_);
    --inside_;
  }
  cv_.notify_one();
}

void DecodeGate::set_limit(int limit) {
  {
    std::lock_guard lock(mutex_);
    limit_ = limit;
  }
  cv_.notify_all();
}

void DecodeGate::open() {
  {
    std::lock_guard lock(mutex_);
    open_ = true;
  }
  cv_.notify_all();
}

int DecodeGate::limit() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

DecodeBalancer::DecodeBalancer(int cores, int initial, int started, bool balanced)
    : cores_(std::max(1, cores)),
      started_(std::max(1, started)),
      balanced_(balanced && started > 1),
      gate_(std::clamp(initial, 1, std::max(1, started))),
      fewest_(gate_.limit()),
      most_(gate_.limit()) {}

void DecodeBalancer::update_at(std::chrono::steady_clock::time_point now) {
  if (!balanced_) return;
  const std::int64_t decode_ns = decode_ns_.load(std::memory_order_relaxed);
  const std::int64_t decoded = decoded_.load(std::memory_order_relaxed);
  const std::int64_t infer_ns = infer_ns_.load(std::memory_order_relaxed);
  const std::int64_t inferred = inferred_.load(std::memory_order_relaxed);
  const std::int64_t images = decoded - last_decoded_, batch_images = inferred - last_inferred_;
  if (images < kMinImages || batch_images < kMinImages) return;  // too few yet: the interval goes on
  const double d = static_cast<double>(decode_ns - last_decode_ns_) * 1e-9 / static_cast<double>(images);
  const double c = static_cast<double>(infer_ns - last_infer_ns_) * 1e-9 * cores_ / static_cast<double>(batch_images);
  const std::int64_t wait_ns = infer_wait_ns_.load(std::memory_order_relaxed);
  const double wall = std::chrono::duration<double>(now - last_update_).count();
  const double idle = wall > 0 ? static_cast<double>(wait_ns - last_wait_ns_) * 1e-9 / wall : 0;
  last_decode_ns_ = decode_ns;
  last_decoded_ = decoded;
  last_infer_ns_ = infer_ns;
  last_inferred_ = inferred;
  last_wait_ns_ = wait_ns;
  last_update_ = now;
  d_ = d_ > 0 ? (1 - kSmoothing) * d_ + kSmoothing * d : d;
  c_ = c_ > 0 ? (1 - kSmoothing) * c_ + kSmoothing * c : c;
  const int current = gate_.limit();
  int k = balanced_decoders(d_, c_, cores_, started_, current);
  if (idle > kStarved) k = std::max(k, std::min(current + 1, started_));  // inference waited: more
  else if (idle >= kBusy) k = std::max(k, current);                       // in between: never fewer
  gate_.set_limit(k);
  fewest_.store(std::min(fewest_.load(), k));
  most_.store(std::max(most_.load(), k));
}

DecodeBalance DecodeBalancer::summary() const {
  DecodeBalance b;
  b.balanced = balanced_;
  b.started = started_;
  b.last = gate_.limit();
  b.fewest = fewest_.load();
  b.most = most_.load();
  return b;
}

}  // namespace pm::pipeline
