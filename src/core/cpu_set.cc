// pm::allowed_cpus, and the arithmetic of sharing CPUs between a node's ranks.
#include "pixelmill/cpu_set.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <thread>

namespace pm {

namespace {

// CPU masks sized for this many CPUs first; doubled while the kernel answers EINVAL
// (its mask is larger), up to a size no machine reaches.
constexpr int kFirstMaskCpus = 1024;
constexpr int kLastMaskCpus = 1 << 20;

std::vector<int> every_cpu_guess() {
  const int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> all(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
  return all;
}

bool overlap(const std::vector<int>& a, const std::vector<int>& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return true;
    if (*i < *j) ++i; else ++j;
  }
  return false;
}

}  // namespace

std::vector<int> allowed_cpus() {
  // The glibc macros take a dynamically sized set: the static cpu_set_t holds 1024 CPUs
  // and sched_getaffinity fails with EINVAL on kernels configured for more.
  for (int cpus = kFirstMaskCpus; cpus <= kLastMaskCpus; cpus *= 2) {
    const std::unique_ptr<cpu_set_t, void (*)(cpu_set_t*)> set(CPU_ALLOC(cpus),
                                                               [](cpu_set_t* s) { CPU_FREE(s); });
    if (!set) break;
    const std::size_t bytes = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(bytes, set.get());
    if (sched_getaffinity(0, bytes, set.get()) != 0) {
      if (errno == EINVAL) continue;
      break;
    }
    std::vector<int> ids;
    for (int c = 0; c < cpus; ++c)
      if (CPU_ISSET_S(c, bytes, set.get())) ids.push_back(c);
    if (!ids.empty()) return ids;
    break;
  }
  return every_cpu_guess();
}

int cpu_sharers(const std::vector<int>& mine, const std::vector<std::vector<int>>& node_sets) {
  int sharers = 0;
  for (const auto& other : node_sets)
    if (overlap(mine, other)) ++sharers;
  // `mine` is among node_sets when called as documented; a caller that left it out
  // still counts this rank.
  return std::max(1, sharers);
}

int cpu_share(const std::vector<int>& mine, const std::vector<std::vector<int>>& node_sets) {
  return std::max(1, static_cast<int>(mine.size()) / cpu_sharers(mine, node_sets));
}

}  // namespace pm
