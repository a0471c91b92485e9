// pm::h5::write_images: every rank's SplitResults into one file, collectively.
//
// Row placement: ranks allgather (split_index, row_count) of the splits they hold, so
// every rank computes the same prefix sums in split order and knows where its rows go,
// whichever rank processed which split. Each dataset is then written with a single
// collective H5Dwrite per rank whose file selection is the union of its splits' rows.
//
// Failure handling: see pixelmill/agreed.h. Local checks and buffer packing are voted on before
// each collective call; checks on allgathered data are identical on every rank.
#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "pixelmill/agreed.h"
#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "progress.h"
#include "row_arena.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Copies `message` into a kErrorLength field, NUL padded. A message that does not fit
// is cut at a UTF-8 character boundary, so readers never see half a character.
void put_error(const std::string& message, char* field) {
  std::size_t n = std::min(message.size(), layout::kErrorLength);
  if (n < message.size()) {
    // message[n] is the first byte left out; while it continues a character, that
    // character started inside the field: drop its leading bytes too.
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  }
  std::memset(field, 0, layout::kErrorLength);
  std::memcpy(field, message.data(), n);
}

// What this rank writes: its splits in ascending split order, and where they go.
struct LocalRows {
  std::vector<const SplitResults*> splits;  // ascending split_index
  std::vector<RowBlock> blocks;             // same order; file rows of each split
  hsize_t rows = 0;
  std::int64_t longest_key = 0;
};

void check_local(const std::vector<SplitResults>& mine, std::uint64_t total_splits,
                 int embedding_dim, LocalRows& local) {
  PM_CHECK(embedding_dim > 0, "embedding_dim must be positive, got " + std::to_string(embedding_dim));
  for (const SplitResults& s : mine) local.splits.push_back(&s);
  std::sort(local.splits.begin(), local.splits.end(),
            [](const SplitResults* a, const SplitResults* b) { return a->split_index < b->split_index; });
  for (std::size_t i = 0; i < local.splits.size(); ++i) {
    const SplitResults& s = *local.splits[i];
    PM_CHECK(s.split_index < total_splits, "split " + std::to_string(s.split_index) +
                                               " is outside the plan of " +
                                               std::to_string(total_splits) + " splits");
    PM_CHECK(i == 0 || local.splits[i - 1]->split_index != s.split_index,
             "split " + std::to_string(s.split_index) + " passed twice");
    for (const ImageResult& r : s.rows) {
      const std::size_t d = r.embedding.size();
      PM_CHECK(d == static_cast<std::size_t>(embedding_dim) || (d == 0 && !r.status.is_ok()),
               "split " + std::to_string(s.split_index) + ": a row has an embedding of " +
                   std::to_string(d) + " values, expected " + std::to_string(embedding_dim));
      local.longest_key = std::max<std::int64_t>(local.longest_key, static_cast<std::int64_t>(r.key.size()));
    }
  }
}

// Every split's first row in the file, from all ranks' (split_index, rows) pairs, and
// the rows of each split (-1 for a split no rank holds, allowed only when `partial`).
// Every rank computes the same tables; a broken plan throws on every rank alike.
std::vector<hsize_t> split_offsets(const Comm& comm, const LocalRows& local,
                                   std::uint64_t total_splits, bool partial,
                                   hsize_t& total_rows, std::vector<std::int64_t>& rows_of) {
  std::vector<std::int64_t> pairs;
  for (const SplitResults* s : local.splits) {
    pairs.push_back(static_cast<std::int64_t>(s->split_index));
    pairs.push_back(static_cast<std::int64_t>(s->rows.size()));
  }
  const std::vector<std::int64_t> all = allgatherv_values(comm, pairs);

  constexpr std::int64_t kAbsent = -1;
  rows_of.assign(total_splits, kAbsent);
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
    const auto index = static_cast<std::size_t>(all[i]);
    PM_CHECK(rows_of[index] == kAbsent, "split " + std::to_string(index) + " was passed by two ranks");
    rows_of[index] = all[i + 1];
  }
  std::vector<hsize_t> offsets(total_splits);
  hsize_t next = 0;
  for (std::size_t i = 0; i < total_splits; ++i) {
    PM_CHECK(partial || rows_of[i] != kAbsent, "split " + std::to_string(i) + " of " +
                                        std::to_string(total_splits) + " was passed by no rank");
    offsets[i] = next;
    if (rows_of[i] != kAbsent) next += static_cast<hsize_t>(rows_of[i]);
  }
  total_rows = next;
  return offsets;
}

// Creates one /images dataset and writes this rank's rows into it. `fill(row, out)`
// writes `per_row` values of T for one record, into storage that starts zeroed.
template <typename T, typename Fill>
void write_column(const Comm& comm, hid_t file, const char* path, hid_t file_type,
                  hid_t mem_type, hsize_t total_rows, hsize_t cols, std::size_t per_row,
                  const LocalRows& local, hid_t transfer, Fill fill) {
  Handle dataset = create_rows(file, path, file_type, total_rows, cols);
  std::optional<RowArena> arena;
  agreed(comm, std::string("packing ") + path, [&] {
    arena.emplace(local.blocks, per_row * sizeof(T));
    hsize_t index = 0;
    for (std::size_t k = 0; k < local.splits.size(); ++k) {
      hsize_t file_row = local.blocks[k].first;
      for (const ImageResult& r : local.splits[k]->rows)
        fill(r, reinterpret_cast<T*>(arena->row(file_row++, index++)));
    }
  });
  // An empty file has nothing to write on any rank: the same decision everywhere.
  if (total_rows > 0) arena->write(dataset.get(), mem_type, cols, transfer);
}

void write_root_attributes(hid_t file, const RunAttributes& attrs, const std::string& created,
                           int embedding_dim, hsize_t rows,
                           const std::vector<std::int64_t>& rows_of) {
  std::int64_t done = 0;
  for (const std::int64_t r : rows_of) done += r >= 0 ? 1 : 0;
  const auto planned = static_cast<std::int64_t>(rows_of.size());
  write_attribute(file, "pixelmill_version", attrs.version);
  write_attribute(file, "command_line", attrs.command_line);
  write_attribute(file, "model_card", attrs.model_card_json);
  write_attribute(file, "model_card_sha256", attrs.model_card_sha256);
  write_attribute(file, "model_sha256", attrs.model_sha256);
  write_attribute(file, "parameters", attrs.parameters_json);
  write_attribute(file, "counts", attrs.counts_json);
  write_attribute(file, "created_utc", created);
  write_attribute(file, "embedding_dim", static_cast<std::int64_t>(embedding_dim));
  write_attribute(file, "rows", static_cast<std::int64_t>(rows));
  write_attribute(file, "complete", static_cast<std::int64_t>(done == planned ? 1 : 0));
  write_attribute(file, "plan_sha256", attrs.plan_sha256);
  write_attribute(file, "plan_ranks", attrs.plan_ranks);
  write_attribute(file, "splits", planned);
  write_attribute(file, "splits_done", done);
}

}  // namespace

std::int64_t write_images(const Comm& comm, const std::string& path, int embedding_dim,
                          const std::vector<SplitResults>& mine, std::uint64_t total_splits,
                          const RunAttributes& attrs) {
  QuietErrors quiet;
  LocalRows local;
  agreed(comm, "write_images: checking results",
        [&] { check_local(mine, total_splits, embedding_dim, local); });

  // Arguments that shape the file must agree, or ranks would create different datasets.
  const auto dim_arg = static_cast<std::int64_t>(embedding_dim);
  const auto splits_arg = static_cast<std::int64_t>(total_splits);
  PM_CHECK(comm.allreduce_min(dim_arg) == comm.allreduce_max(dim_arg),
           "write_images: ranks passed different embedding dimensions");
  PM_CHECK(comm.allreduce_min(splits_arg) == comm.allreduce_max(splits_arg),
           "write_images: ranks passed different split counts");

  hsize_t total_rows = 0;
  std::vector<std::int64_t> rows_of;
  const std::vector<hsize_t> offsets =
      split_offsets(comm, local, total_splits, attrs.partial, total_rows, rows_of);
  for (const SplitResults* s : local.splits) {
    local.blocks.push_back({offsets[s->split_index], s->rows.size()});
    local.rows += s->rows.size();
  }
  const auto key_width = static_cast<hsize_t>(std::max<std::int64_t>(1, comm.allreduce_max(local.longest_key)));
  const auto dim = static_cast<hsize_t>(embedding_dim);
  const std::string created = comm.broadcast(comm.rank() == 0 ? utc_now() : std::string());

  Handle fapl = collective_file_access(comm);
  // Creating is collective, but its failure is reported per rank: agreed, so that a rank
  // that could not create the file never leaves the others in the next collective call.
  Handle file;
  agreed(comm, "", [&] {
    file = own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                    "creating " + path);
  });
  Handle group = own_group(H5Gcreate2(file.get(), layout::kImages, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           "creating /images");
  Handle transfer = collective_transfer();
  const hid_t f = file.get();
  const hid_t x = transfer.get();

  write_column<std::uint8_t>(comm, f, layout::kKey, H5T_STD_U8LE, H5T_NATIVE_UINT8, total_rows,
                             key_width, key_width, local, x,
                             [](const ImageResult& r, std::uint8_t* out) {
                               std::memcpy(out, r.key.data(), r.key.size());
                             });
  write_column<std::uint32_t>(comm, f, layout::kKeyLength, H5T_STD_U32LE, H5T_NATIVE_UINT32,
                              total_rows, 0, 1, local, x,
                              [](const ImageResult& r, std::uint32_t* out) {
                                *out = static_cast<std::uint32_t>(r.key.size());
                              });
  write_column<std::uint8_t>(comm, f, layout::kStatus, H5T_STD_U8LE, H5T_NATIVE_UINT8, total_rows,
                             0, 1, local, x, [](const ImageResult& r, std::uint8_t* out) {
                               *out = static_cast<std::uint8_t>(r.status.code);
                             });
  {
    Handle error_type = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(error_type.get(), layout::kErrorLength), "H5Tset_size");
    check(H5Tset_strpad(error_type.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
    write_column<char>(comm, f, layout::kError, error_type.get(), error_type.get(), total_rows, 0,
                       layout::kErrorLength, local, x,
                       [](const ImageResult& r, char* out) { put_error(r.status.message, out); });
  }
  write_column<float>(comm, f, layout::kEmbedding, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, total_rows,
                      dim, dim, local, x, [](const ImageResult& r, float* out) {
                        // Failed records keep the zeros the arena starts with.
                        if (!r.embedding.empty())
                          std::memcpy(out, r.embedding.data(), r.embedding.size() * sizeof(float));
                      });
  write_column<std::uint8_t>(comm, f, layout::kContentHash, H5T_STD_U8LE, H5T_NATIVE_UINT8,
                             total_rows, 32, 32, local, x,
                             [](const ImageResult& r, std::uint8_t* out) {
                               std::memcpy(out, r.content_hash.data(), r.content_hash.size());
                             });
  write_column<std::uint64_t>(comm, f, layout::kPhash, H5T_STD_U64LE, H5T_NATIVE_UINT64,
                              total_rows, 0, 1, local, x,
                              [](const ImageResult& r, std::uint64_t* out) { *out = r.phash; });
  write_column<std::int32_t>(comm, f, layout::kWidth, H5T_STD_I32LE, H5T_NATIVE_INT32, total_rows,
                             0, 1, local, x,
                             [](const ImageResult& r, std::int32_t* out) { *out = r.width; });
  write_column<std::int32_t>(comm, f, layout::kHeight, H5T_STD_I32LE, H5T_NATIVE_INT32, total_rows,
                             0, 1, local, x,
                             [](const ImageResult& r, std::int32_t* out) { *out = r.height; });
  write_column<std::int64_t>(comm, f, layout::kTimestamp, H5T_STD_I64LE, H5T_NATIVE_INT64,
                             total_rows, 0, 1, local, x,
                             [](const ImageResult& r, std::int64_t* out) { *out = r.timestamp; });

  write_progress(f, rows_of, comm.rank(), x);
  write_root_attributes(f, attrs, created, embedding_dim, total_rows, rows_of);
  return static_cast<std::int64_t>(total_rows);
}

}  // namespace pm::h5
