#include "ring_join.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <span>

#include "pixelmill/error.h"
#include "pixelmill/point_to_point.h"

namespace pm::dedup {

namespace {

constexpr int kTagIds = 7201;
constexpr int kTagRows = 7202;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A receive buffer for one chunk, sized for the largest chunk.
struct ChunkBuffer {
  std::vector<std::int64_t> ids;
  std::vector<float> embedding;
  std::int64_t rows = 0;
  int dim = 0;
  BlockView view() const { return {embedding.data(), ids.data(), rows, dim}; }
};

BlockView slice(const BlockView& v, std::int64_t begin, std::int64_t end) {
  begin = std::min(begin, v.rows);
  end = std::min(end, v.rows);
  return {v.data + begin * v.dim, v.ids + begin, end - begin, v.dim};
}

std::vector<ScoredPair> ring_join(const Comm& comm, const JoinRows& home, const JoinRows& travel,
                                  bool self, const JoinConfig& config, JoinStats* stats) {
  const double t_start = now();
  const int p = comm.size();
  const int r = comm.rank();
  const int left = (r + p - 1) % p;
  const int right = (r + 1) % p;
  const int dim = static_cast<int>(comm.allreduce_max(static_cast<std::int64_t>(home.dim)));
  const std::int64_t block = std::max<std::int64_t>(1, config.block_rows);
  PM_ASSERT(home.ids.empty() || home.dim == dim, "ring join: ranks disagree on the dimension");
  PM_ASSERT(travel.ids.empty() || travel.dim == dim, "ring join: ranks disagree on the dimension");

  std::vector<ScoredPair> out;
  if (dim == 0) return out;  // no embeddings anywhere: nothing to join
  BlockJoiner joiner(dim, config.threshold, config.tile, config.precision);
  const BlockView home_view = home.view();
  const BlockView travel_view = travel.view();

  // Progress is reported in flops against an estimate of this rank's share.
  const double all_home = static_cast<double>(comm.allreduce_sum(home_view.rows));
  const double all_travel = static_cast<double>(comm.allreduce_sum(travel_view.rows));
  const double expected = (self ? all_home * all_home : 2.0 * all_home * all_travel) * dim / p;
  auto report = [&] {
    if (config.on_chunk)
      config.on_chunk(static_cast<std::int64_t>(joiner.flops()), static_cast<std::int64_t>(expected));
  };

  // Step 0: the rank's own pair of blocks, no transfer; in chunk pairs, so that progress
  // can be reported (the tiles computed are the same).
  for (std::int64_t h = 0; h * block < home_view.rows; ++h) {
    const BlockView a = slice(home_view, h * block, (h + 1) * block);
    for (std::int64_t j = self ? h : 0; j * block < travel_view.rows; ++j) {
      joiner.join(a, slice(travel_view, j * block, (j + 1) * block), self && h == j, out);
      report();
    }
  }

  const int steps = self ? p / 2 : p - 1;
  const std::int64_t chunks =
      comm.allreduce_max((static_cast<std::int64_t>(travel.ids.size()) + block - 1) / block);
  const std::int64_t items = chunks * steps;
  double wait = 0;
  if (items > 0) {
    // Two buffers, each sized for the largest chunk that travels (block_rows, or less
    // when every rank's block is smaller).
    const std::int64_t cap = std::min(
        block, comm.allreduce_max(static_cast<std::int64_t>(travel.ids.size())));
    std::array<ChunkBuffer, 2> buf;
    for (auto& b : buf) {
      b.ids.resize(static_cast<std::size_t>(cap));
      b.embedding.resize(static_cast<std::size_t>(cap * dim));
      b.dim = dim;
    }
    if (config.on_stage) config.on_stage("ring buffers allocated");
    // Item t is chunk j = t / steps of the block that started s = t % steps + 1 ranks to
    // the right. What this rank sends for item t + 1 is its own chunk j when s = 1, else
    // the chunk it holds for item t (which the left neighbour needs one step later).
    // Declared after the buffers, so destroyed before them: a step left by an exception
    // (the join, a callback) cancels its transfers before their buffers are freed.
    std::array<Request, 4> req;
    auto post = [&](const BlockView& send, ChunkBuffer& into) {
      const auto rows = static_cast<std::size_t>(send.rows);
      req[0] = irecv(comm, into.ids, right, kTagIds);
      req[1] = irecv(comm, into.embedding, right, kTagRows);
      req[2] = isend(comm, std::span(send.ids, rows), left, kTagIds);
      req[3] = isend(comm, std::span(send.data, rows * static_cast<std::size_t>(dim)), left,
                     kTagRows);
    };
    auto complete = [&](ChunkBuffer& into) {
      const double t0 = now();
      const std::size_t n = req[0].wait();
      const std::size_t floats = req[1].wait();
      PM_ASSERT(floats == n * static_cast<std::size_t>(dim),
                "ring join: a chunk's ids and rows disagree");
      req[2].wait();
      req[3].wait();
      into.rows = static_cast<std::int64_t>(n);
      wait += now() - t0;
    };
    auto own_chunk = [&](std::int64_t j) {
      return slice(travel_view, j * block, (j + 1) * block);
    };

    post(own_chunk(0), buf[0]);
    complete(buf[0]);
    for (std::int64_t t = 0; t < items; ++t) {
      ChunkBuffer& cur = buf[static_cast<std::size_t>(t % 2)];
      ChunkBuffer& next = buf[static_cast<std::size_t>((t + 1) % 2)];
      const bool more = t + 1 < items;
      if (more) {
        const bool fresh_chunk = (t + 1) % steps == 0;
        post(fresh_chunk ? own_chunk((t + 1) / steps) : cur.view(), next);
      }
      const int s = static_cast<int>(t % steps) + 1;
      const bool twin_step = self && p % 2 == 0 && s == p / 2;
      if (!twin_step) {
        joiner.join(home_view, cur.view(), false, out);
      } else {
        // At the half-way step of an even ring, ranks r and r + P/2 hold each other's
        // blocks. They share the work: the pair of home chunk h and travelling chunk j
        // goes to the lower rank when h + j is even, to the upper one when it is odd,
        // so each pair of rows is joined once and both ranks stay busy.
        const std::int64_t j = t / steps;
        const std::int64_t parity = r < p / 2 ? 0 : 1;
        for (std::int64_t h = 0; h * block < home_view.rows; ++h)
          if ((h + j) % 2 == parity)
            joiner.join(slice(home_view, h * block, (h + 1) * block), cur.view(), false, out);
      }
      if (more) complete(next);
      if (stats) ++stats->chunks;
      report();
    }
  }
  if (stats) {
    stats->seconds += now() - t_start;
    stats->wait_seconds += wait;
    stats->flops += joiner.flops();
    stats->rechecked += joiner.rechecked();
  }
  return out;
}

}  // namespace

std::vector<ScoredPair> ring_self_join(const Comm& comm, const JoinRows& home,
                                       const JoinConfig& config, JoinStats* stats) {
  return ring_join(comm, home, home, true, config, stats);
}

std::vector<ScoredPair> ring_cross_join(const Comm& comm, const JoinRows& home,
                                        const JoinRows& visitors, const JoinConfig& config,
                                        JoinStats* stats) {
  return ring_join(comm, home, visitors, false, config, stats);
}

}  // namespace pm::dedup
