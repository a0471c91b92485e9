#include "decode_balancer.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace pm::pipeline {
namespace {
constexpr double kGrowHeadroom = 0.10;    // grow once need exceeds k by 0.1 of a thread
constexpr double kShrinkHeadroom = 0.10;  // shrink to k' only if need * 1.1 <= k'
constexpr std::int64_t kMinImages = 8;    // images an estimate is made from, at least
constexpr double kSmoothing = 0.5;        // weight of the newest interval

std::int64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
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

void DecodeBalancer::update() {
  if (balanced_) update_with(process_cpu_ns());
}

void DecodeBalancer::update_with(std::int64_t process_ns) {
  if (!balanced_) return;
  const std::int64_t decode_ns = decode_ns_.load(std::memory_order_relaxed);
  const std::int64_t decoded = decoded_.load(std::memory_order_relaxed);
  if (last_process_ns_ < 0) {  // the first call: where the measurement starts
    last_process_ns_ = process_ns;
    last_decode_ns_ = decode_ns;
    last_decoded_ = decoded;
    return;
  }
  const std::int64_t images = decoded - last_decoded_;
  if (images < kMinImages) return;  // too few yet: the interval goes on
  const double decode_s = static_cast<double>(decode_ns - last_decode_ns_) * 1e-9;
  const double other_s = std::max(0.0, static_cast<double>(process_ns - last_process_ns_) * 1e-9 - decode_s);
  last_process_ns_ = process_ns;
  last_decode_ns_ = decode_ns;
  last_decoded_ = decoded;
  const double d = decode_s / static_cast<double>(images), c = other_s / static_cast<double>(images);
  d_ = d_ > 0 ? (1 - kSmoothing) * d_ + kSmoothing * d : d;
  c_ = c_ > 0 ? (1 - kSmoothing) * c_ + kSmoothing * c : c;
  const int k = balanced_decoders(d_, c_, cores_, started_, gate_.limit());
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
