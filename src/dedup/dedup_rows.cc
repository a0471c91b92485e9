// read_dedup_rows: a rank's share of /dedup turned into per-row results with row keys.
// Two all-to-all exchanges, no gather: (1) every pair's score goes to the ranks that hold
// its two rows (best score and pair count); (2) the keys of group ids outside the rank's
// share are asked of the rank that holds that id's row (its share of the input file, or of
// the older files for ids >= N, split the same way as run_dedup splits them); so are the
// keys of the older rows this run regrouped (/dedup/regrouped, split evenly over ranks).
#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "pixelmill/agreed.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/dedup.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"

namespace pm {

namespace {

using OlderFile = h5::AgainstFile;

// Ids 0..N-1 are the input's rows, split over ranks as N*r/P; ids N.. are the older
// files' rows, split as A*r/P over their concatenation (A = their total).
class KeyOwners {
 public:
  KeyOwners(std::int64_t rows, std::int64_t older_rows, int ranks)
      : rows_(rows), older_(older_rows), ranks_(ranks) {}
  std::int64_t begin(std::int64_t total, int r) const { return total * r / ranks_; }
  int owner(std::int64_t id) const {
    const bool older = id >= rows_;
    const std::int64_t total = older ? older_ : rows_;
    const std::int64_t x = older ? id - rows_ : id;
    // The last rank r with begin(total, r) <= x.
    int lo = 0, hi = ranks_ - 1;
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (begin(total, mid) <= x) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

 private:
  std::int64_t rows_, older_;
  int ranks_;
};

// Keys of ids [begin, end) of the older files' concatenation.
std::vector<std::string> older_keys(const std::vector<OlderFile>& files, std::int64_t begin,
                                    std::int64_t end) {
  std::vector<std::string> keys;
  for (const OlderFile& f : files) {
    const std::int64_t b = std::max(begin, f.offset) - f.offset;
    const std::int64_t e = std::min(end, f.offset + f.rows) - f.offset;
    if (e <= b) continue;
    auto rows = h5::read_images(f.path, b, e, /*with_embeddings=*/false);
    for (auto& k : rows.keys) keys.push_back(std::move(k));
  }
  return keys;
}

struct ScoreNote {
  std::int64_t row;
  float score;
};

struct KeyRequest {
  std::int64_t id;
  std::int32_t from;
};

// Packs (id, key) answers as [int64 id][uint64 length][bytes] records.
void pack_key(std::vector<char>& out, std::int64_t id, const std::string& key) {
  const std::uint64_t len = key.size();
  const auto* a = reinterpret_cast<const char*>(&id);
  const auto* b = reinterpret_cast<const char*>(&len);
  out.insert(out.end(), a, a + sizeof id);
  out.insert(out.end(), b, b + sizeof len);
  out.insert(out.end(), key.begin(), key.end());
}

}  // namespace

DedupRows read_dedup_rows(const Comm& comm, const std::string& path) {
  DedupRows out;
  const int p = comm.size();
  // Every read that may fail happens here, agreed on before any exchange starts.
  std::int64_t n = 0, older_rows = 0, begin = 0, end = 0, ob = 0;
  std::vector<OlderFile> older;
  std::vector<std::int64_t> pairs;
  std::vector<float> score;
  std::vector<std::string> my_older;
  std::vector<std::int64_t> regrouped;  // this rank's share of /dedup/regrouped, [K_r, 2]
  agreed(comm, "reading /dedup", [&] {
    // Every id below is checked by the reader: group ids < N + older rows, pairs i < j.
    const h5::DedupInfo info = h5::read_dedup_info(path);
    n = info.rows;
    older = info.against;
    older_rows = info.against_rows;
    const KeyOwners o(n, older_rows, p);
    begin = o.begin(n, comm.rank());
    end = o.begin(n, comm.rank() + 1);
    out.first_row = begin;
    out.total_rows = n;
    out.threshold = info.threshold;
    out.key = h5::read_images(path, begin, end, /*with_embeddings=*/false).keys;
    h5::DedupGroups groups = h5::read_dedup_groups(path, begin, end);
    out.group = std::move(groups.group);
    out.exact_group = std::move(groups.exact_group);
    const std::int64_t m = info.pairs;
    const std::int64_t pb = m * comm.rank() / p, pe = m * (comm.rank() + 1) / p;
    h5::DedupPairs pair_rows = h5::read_dedup_pairs(path, pb, pe);
    pairs = std::move(pair_rows.pairs);
    score = std::move(pair_rows.score);
    ob = o.begin(older_rows, comm.rank());
    if (older_rows > 0) my_older = older_keys(older, ob, o.begin(older_rows, comm.rank() + 1));
    const std::int64_t k = info.regrouped;
    regrouped = h5::read_dedup_regrouped(path, k * comm.rank() / p, k * (comm.rank() + 1) / p);
  });
  const KeyOwners owners(n, older_rows, p);
  const auto count = static_cast<std::size_t>(end - begin);

  // (1) Pair scores to the owners of both rows (ids >= N are older rows: not ours to write).
  out.pairs.assign(count, 0);
  out.best_score.assign(count, 0.f);
  {
    std::vector<std::vector<ScoreNote>> notes(static_cast<std::size_t>(p));
    for (std::size_t i = 0; i < score.size(); ++i)
      for (int side = 0; side < 2; ++side) {
        const std::int64_t row = pairs[2 * i + static_cast<std::size_t>(side)];
        if (row >= 0 && row < n) notes[owners.owner(row)].push_back({row, score[i]});
      }
    for (const ScoreNote& s : alltoallv_values(comm, notes)) {
      PM_ASSERT(s.row >= begin && s.row < end, "score routed to the wrong rank");
      const auto i = static_cast<std::size_t>(s.row - begin);
      out.best_score[i] = out.pairs[i] == 0 ? s.score : std::max(out.best_score[i], s.score);
      ++out.pairs[i];
    }
  }

  // (2) Keys of group ids held by other ranks (this rank holds its input rows' keys and
  // its share of the older rows' keys).
  auto local_key = [&](std::int64_t id) -> const std::string* {
    if (id >= begin && id < end) return &out.key[static_cast<std::size_t>(id - begin)];
    if (id >= n && id - n >= ob && id - n - ob < static_cast<std::int64_t>(my_older.size()))
      return &my_older[static_cast<std::size_t>(id - n - ob)];
    return nullptr;
  };
  std::unordered_map<std::int64_t, std::string> fetched;
  {
    std::vector<std::int64_t> wanted;
    for (std::size_t i = 0; i < count; ++i)
      for (std::int64_t id : {out.group[i], out.exact_group[i]})
        if (!local_key(id)) wanted.push_back(id);
    for (std::int64_t id : regrouped)
      if (!local_key(id)) wanted.push_back(id);
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    std::vector<std::vector<KeyRequest>> asks(static_cast<std::size_t>(p));
    for (std::int64_t id : wanted) asks[owners.owner(id)].push_back({id, comm.rank()});
    std::vector<std::vector<char>> answers(static_cast<std::size_t>(p));
    for (const KeyRequest& q : alltoallv_values(comm, asks)) {
      const std::string* key = local_key(q.id);
      PM_ASSERT(key != nullptr, "key of row " + std::to_string(q.id) + " asked of the wrong rank");
      pack_key(answers[static_cast<std::size_t>(q.from)], q.id, *key);
    }
    const std::vector<char> got = alltoallv_values(comm, answers);
    for (std::size_t off = 0; off < got.size();) {
      std::int64_t id = 0;
      std::uint64_t len = 0;
      std::memcpy(&id, got.data() + off, sizeof id);
      std::memcpy(&len, got.data() + off + sizeof id, sizeof len);
      off += sizeof id + sizeof len;
      fetched.emplace(id, std::string(got.data() + off, len));
      off += len;
    }
  }
  auto key_of = [&](std::int64_t id) -> const std::string& {
    if (const std::string* k = local_key(id)) return *k;
    const auto it = fetched.find(id);
    PM_ASSERT(it != fetched.end(), "no key came back for row " + std::to_string(id));
    return it->second;
  };
  out.group_key.reserve(count);
  out.exact_group_key.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.group_key.push_back(key_of(out.group[i]));
    out.exact_group_key.push_back(key_of(out.exact_group[i]));
  }
  for (std::size_t i = 0; i + 1 < regrouped.size(); i += 2) {
    out.regrouped_key.push_back(key_of(regrouped[i]));
    out.regrouped_group.push_back(regrouped[i + 1]);
    out.regrouped_group_key.push_back(key_of(regrouped[i + 1]));
  }
  return out;
}

}  // namespace pm
