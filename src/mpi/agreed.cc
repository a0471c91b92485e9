// pm::agree_on and the message that names the failing ranks.
#include "pixelmill/agreed.h"

#include <cstddef>

namespace pm {

namespace {

// A rank's message travels to every rank: a runaway message (a whole file quoted in an
// exception) is cut so that a vote never moves more than this per rank.
constexpr std::size_t kMaxMessage = 2000;
// Distinct messages listed before "... and N more ranks".
constexpr std::size_t kMaxListed = 8;

// "0", "0, 2", "0-3, 5": ranks in ascending order, runs as ranges.
std::string rank_list(const std::vector<int>& ranks) {
  std::string out;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(ranks[i]);
    if (j > i) out += (j == i + 1 ? ", " : "-") + std::to_string(ranks[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string describe_failures(const std::string& what, const std::vector<std::string>& per_rank) {
  // Distinct messages in the order of the first rank that had each.
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  std::size_t failed = 0;
  for (std::size_t r = 0; r < per_rank.size(); ++r) {
    if (per_rank[r].empty()) continue;
    ++failed;
    auto it = groups.begin();
    while (it != groups.end() && it->first != per_rank[r]) ++it;
    if (it == groups.end()) {
      groups.push_back({per_rank[r], {}});
      it = groups.end() - 1;
    }
    it->second.push_back(static_cast<int>(r));
  }
  if (groups.empty()) return what;
  const std::string prefix = what.empty() ? "" : what + ": ";
  // Every rank alike: the ranks add nothing (a bad flag, a missing model).
  if (groups.size() == 1 && failed == per_rank.size()) return prefix + groups[0].first;
  std::string out = prefix;
  std::size_t listed_ranks = 0;
  for (std::size_t g = 0; g < groups.size() && g < kMaxListed; ++g) {
    const auto& [message, ranks] = groups[g];
    if (g > 0) out += "; ";
    out += (ranks.size() == 1 ? "rank " : "ranks ") + rank_list(ranks) + ": " + message;
    listed_ranks += ranks.size();
  }
  if (listed_ranks < failed)
    out += "; ... and " + std::to_string(failed - listed_ranks) + " more failing ranks";
  return out;
}

void agree_on(const Comm& comm, const std::string& what, const std::string& failure) {
  if (comm.all_true(failure.empty())) return;  // the common case: one allreduce
  std::string mine = failure;
  if (mine.size() > kMaxMessage) mine = mine.substr(0, kMaxMessage) + "...";
  throw AgreedError(describe_failures(what, comm.allgatherv(mine)));
}

void agree_on_root(const Comm& comm, const std::string& what, const std::string& failure,
                   int root) {
  std::string mine = failure;
  if (mine.size() > kMaxMessage) mine = mine.substr(0, kMaxMessage) + "...";
  const std::string message = comm.broadcast(mine, root);
  if (message.empty()) return;
  throw AgreedError(what.empty() ? message : what + ": " + message);
}

}  // namespace pm
